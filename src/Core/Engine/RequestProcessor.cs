using RecurrentDepth.Caching;
using RecurrentDepth.Configuration;
using RecurrentDepth.Generation;
using RecurrentDepth.Generation.Constraints;
using RecurrentDepth.Tokenization;
using TorchSharp;

namespace RecurrentDepth.Engine;

/// <summary>A request made ready for the engine core: decoder options and the key/value bytes it reserves at most.</summary>
/// <param name="Options">What the decoder runs (token ids already validated).</param>
/// <param name="ReservedBytes">Worst-case key/value bytes the sequence can write (0 when the engine has no budget).</param>
internal sealed record PreparedRequest(SequenceOptions Options, long ReservedBytes);

/// <summary>
/// The caller's-thread half of a request, run once per request before it is queued: chat template, tokenizing,
/// limits and validation, the output constraint, and the key/value reservation admission checks. Nothing here
/// touches the model or the device, so a bad request fails on the caller's thread and never reaches the engine.
/// </summary>
internal sealed class RequestProcessor
{
    private readonly RavenConfig _config;
    private readonly HuginnTokenizer _tokenizer;
    private readonly EngineOptions _options;
    private readonly CacheStrategy _defaultCache;
    private readonly TorchSharp.torch.ScalarType _dtype;

    public RequestProcessor(RavenConfig config, HuginnTokenizer tokenizer, EngineOptions options, TorchSharp.torch.ScalarType dtype)
    {
        _config = config;
        _tokenizer = tokenizer;
        _options = options;
        _dtype = dtype;
        _defaultCache = CacheStrategy.Parse(options.CacheStrategy, "RecurrentDepth:CacheStrategy");
    }

    /// <summary>Context limit in tokens: the option when set, never more than the model's block size.</summary>
    public int ContextLimit => _options.MaxContext > 0 ? Math.Min(_options.MaxContext, _config.BlockSize) : _config.BlockSize;

    /// <summary>Builds the decoder options of <paramref name="request"/>; throws the request's error (naming the setting).</summary>
    /// <exception cref="ArgumentException">A token id, the prompt length or the reservation is out of bounds.</exception>
    /// <exception cref="NotSupportedException">The request asks for a constraint and no factory is registered.</exception>
    public PreparedRequest Prepare(GenerationRequest request, ITokenConstraintFactory? constraintFactory)
    {
        IReadOnlyList<int> prompt = request.PromptTokens
            ?? (request.Prompt is { } text
                ? [_tokenizer.BosId, .. _tokenizer.Encode(text)]
                : _tokenizer.Encode(_tokenizer.Template.Render(request.Messages, addGenerationPrompt: true)));
        // Token ids are validated once, here on the caller's thread; the device loop trusts them.
        foreach (int id in prompt)
        {
            if (id < 0 || id >= _config.VocabSize)
            {
                throw new ArgumentException($"Prompt token id {id} is outside the vocabulary [0, {_config.VocabSize}).", "prompt_tokens");
            }
        }

        ITokenConstraint? constraint = null;
        if (request.Constraint is { } wanted)
        {
            var factory = constraintFactory ?? throw new NotSupportedException(
                $"Constrained decoding (GenerationRequest.Constraint, kind {wanted.Kind}) is not available: no ITokenConstraintFactory is registered with the engine (InferenceEngine.ConstraintFactory).");
            constraint = factory.Create(wanted, _config.VocabSize, Math.Max(1, Math.Min(request.MaxNewTokens, ContextLimit - prompt.Count)));
        }

        var options = new SequenceOptions
        {
            Prompt = prompt,
            Constraint = constraint,
            MeasureConvergence = _options.MeasureConvergence,
            Depth = request.Depth,
            Sampling = request.Sampling,
            Cache = request.Cache ?? _defaultCache,
            MaxNewTokens = request.MaxNewTokens,
            StopTokens = request.IgnoreEndOfTurn ? new HashSet<int>() : _tokenizer.StopTokenIds,
            MaxContext = _options.MaxContext,
            // Greedy requests without a seed still draw their initial latent states: seed 0 keeps temperature 0 deterministic.
            Seed = request.Seed ?? (request.Sampling.IsGreedy ? 0 : Random.Shared.NextInt64()),
        }.Validate();
        int limit = ContextLimit;
        if (prompt.Count >= limit)
        {
            throw new ArgumentException($"The prompt has {prompt.Count} tokens; the context limit is {limit} tokens (RecurrentDepth:MaxContext / the model's block_size), and at least one must be left to generate.", "messages");
        }

        return new PreparedRequest(options, Reservation(options));
    }

    // The sequence's worst case: every position it can hold (prompt plus max_tokens, within the context) at its step
    // cap. Reserved whole at admission, so no running sequence can exhaust the budget part-way and harm another.
    private long Reservation(SequenceOptions options)
    {
        long budget = _options.KvCacheBudgetBytes;
        if (budget <= 0)
        {
            return 0;
        }

        int positions = Math.Min(options.Prompt.Count + options.MaxNewTokens, ContextLimit);
        int maxSteps = options.Depth.MaxSteps;
        using var probe = new SequenceKvCache(_config, options.Cache, _dtype, torch.CPU);
        long bytes = probe.WorstCaseBytes(positions, maxSteps);
        if (bytes > budget)
        {
            throw new ArgumentException(
                $"The request needs up to {bytes:N0} bytes of key/value cache ({positions} positions: the prompt's {options.Prompt.Count} plus max_tokens {options.MaxNewTokens}, " +
                $"at up to {maxSteps} recurrences, cache '{options.Cache}'), more than the whole RecurrentDepth:KvCacheBudgetBytes of {budget:N0}. " +
                "Lower max_tokens or the depth, or raise the budget.",
                "max_tokens");
        }

        return bytes;
    }
}
