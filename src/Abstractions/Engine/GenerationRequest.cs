using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Engine;

/// <summary>What a caller asks the engine for. Validate with <see cref="Validate"/> (the engine does on submit).</summary>
public sealed record GenerationRequest
{
    /// <summary>The conversation to continue; rendered with the checkpoint's chat template plus a generation prompt.</summary>
    public IReadOnlyList<ChatTurn> Messages { get; init; } = [];

    /// <summary>Raw prompt text used instead of <see cref="Messages"/> when set (no template; a BOS token is prepended).</summary>
    public string? Prompt { get; init; }

    /// <summary>Pre-tokenized prompt used instead of both, when set.</summary>
    public IReadOnlyList<int>? PromptTokens { get; init; }

    /// <summary>Latent compute per token.</summary>
    public DepthPolicy Depth { get; init; } = new();

    /// <summary>Token selection.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>KV-cache strategy; null uses the engine's default.</summary>
    public CacheStrategy? Cache { get; init; }

    /// <summary>Maximum tokens to generate. Default 256.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Extra stop strings; generation ends before the first occurrence (the end-of-turn tokens always stop).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>
    /// Seed for sampling and for the random initial latent states. Null: greedy requests (temperature 0) use seed 0,
    /// so the same greedy request always gives the same text; sampling requests draw a random seed.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// Constrains the generated text (JSON, a JSON Schema, a regular expression); null (default) leaves it free. The
    /// constraint touches only the sampling of each token, never the recurrence.
    /// </summary>
    public OutputConstraint? Constraint { get; init; }

    /// <summary>
    /// Keep generating through end-of-turn / end-of-text tokens until <see cref="MaxNewTokens"/> (benchmarks; vLLM's
    /// <c>ignore_eos</c>). Stop sequences still apply. Default false.
    /// </summary>
    public bool IgnoreEndOfTurn { get; init; }

    /// <summary>Checks every field and throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public GenerationRequest Validate()
    {
        if (PromptTokens is null && Prompt is null && Messages.Count == 0)
        {
            throw new ArgumentException("The request has no prompt: give messages, a prompt or prompt tokens.", "messages");
        }

        if (MaxNewTokens < 1)
        {
            throw new ArgumentOutOfRangeException("max_tokens", MaxNewTokens, "max_tokens must be at least 1.");
        }

        ArgumentNullException.ThrowIfNull(Depth, "depth");
        ArgumentNullException.ThrowIfNull(Sampling, "sampling");
        Depth.Validate();
        Sampling.Validate();
        return this;
    }
}
