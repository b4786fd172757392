using RecurrentDepth.Caching;
using RecurrentDepth.Generation.Constraints;
using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>Supplies the initial latent state (1, count, h) for a model call covering positions start .. start + count − 1.</summary>
public delegate Tensor InitialStateProvider(int startPosition, int count);

/// <summary>Everything the decoder needs to generate one sequence. Build once; the decoder trusts it afterwards.</summary>
public sealed record SequenceOptions
{
    /// <summary>Prompt token ids (at least one).</summary>
    public required IReadOnlyList<int> Prompt { get; init; }

    /// <summary>Latent compute per token.</summary>
    public DepthPolicy Depth { get; init; } = new();

    /// <summary>Token selection.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>KV-cache strategy.</summary>
    public CacheStrategy Cache { get; init; } = CacheStrategy.Full;

    /// <summary>Most tokens to generate.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Token ids that end generation (the stop token is recorded but ends the sequence).</summary>
    public IReadOnlySet<int> StopTokens { get; init; } = new HashSet<int>();

    /// <summary>Context limit (prompt + generated); 0 means the model's block_size.</summary>
    public int MaxContext { get; init; }

    /// <summary>Seed of the sequence's own generator (initial states and sampling).</summary>
    public long Seed { get; init; }

    /// <summary>
    /// Scripted depth: call t (0 = the prompt) runs exactly this many steps, overriding the criterion (the
    /// reference's <c>NumStepsGenerator</c>; used for cache experiments and parity).
    /// </summary>
    public Func<int, int>? StepSchedule { get; init; }

    /// <summary>Initial states to use instead of random draws (parity runs feed the reference's).</summary>
    public InitialStateProvider? InitialStates { get; init; }

    /// <summary>Keep each call's next-token logits (for tests and analysis).</summary>
    public bool RecordLogits { get; init; }

    /// <summary>
    /// For fixed-depth (and scheduled) calls, also read out the second-to-last step so each token reports the KL
    /// between its last two steps' next-token distributions as <see cref="Engine.GeneratedToken.ExitValue"/>. Costs one
    /// extra row in each token's readout (a prompt call: one extra readout). Default true.
    /// </summary>
    public bool MeasureConvergence { get; init; } = true;

    /// <summary>Grammar state that masks the logits before each token is sampled; null leaves the output free.</summary>
    public ITokenConstraint? Constraint { get; init; }

    /// <summary>Checks the options; throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public SequenceOptions Validate()
    {
        if (Prompt is null || Prompt.Count == 0)
        {
            throw new ArgumentException("The prompt must contain at least one token.", "prompt");
        }

        if (MaxNewTokens < 1)
        {
            throw new ArgumentOutOfRangeException("max_tokens", MaxNewTokens, "max_tokens must be at least 1.");
        }

        if (MaxContext < 0)
        {
            throw new ArgumentOutOfRangeException("max_context", MaxContext, "max_context must be ≥ 0 (0 = the model's block_size).");
        }

        Depth.Validate();
        Sampling.Validate();
        return this;
    }
}
