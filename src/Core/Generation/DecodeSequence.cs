using RecurrentDepth.Caching;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation.Constraints;
using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// One sequence inside a <see cref="RecurrentDecoder"/>: its cache, its tokens, the per-token compute it spent, and
/// the state of its current model call. Owned by the decoder's thread.
/// </summary>
public sealed class DecodeSequence : IDisposable
{
    private readonly List<int> _tokens;
    private readonly List<GeneratedToken> _generated = [];
    private readonly List<Tensor> _stepLogits = [];
    private readonly List<IReadOnlyList<double>> _exitValues = [];

    private bool _cacheDetached;

    internal DecodeSequence(int id, SequenceOptions options, SequenceKvCache cache, Generator generator)
    {
        Id = id;
        Options = options;
        Cache = cache;
        Generator = generator;
        Constraint = options.Constraint;
        _tokens = [.. options.Prompt];
        // A reused cache already holds the first positions of the prompt: only the rest is prefilled.
        CachedPromptTokens = cache.Length;
        PendingTokens = [.. options.Prompt.Skip(cache.Length)];
        Schedule = new SequenceSchedule(id, options.Depth, options.StepSchedule, options.MeasureConvergence, PendingTokens.Count);
    }

    /// <summary>Decoder-assigned id.</summary>
    public int Id { get; }

    /// <summary>The options the sequence was admitted with.</summary>
    public SequenceOptions Options { get; }

    /// <summary>The sequence's key/value cache.</summary>
    public SequenceKvCache Cache { get; }

    /// <summary>Prompt followed by generated tokens.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Generated tokens with the compute each took and how settled each was.</summary>
    public IReadOnlyList<GeneratedToken> Generated => _generated;

    /// <summary>Next-token logits of every call (when <see cref="SequenceOptions.RecordLogits"/>).</summary>
    public IReadOnlyList<Tensor> StepLogits => _stepLogits;

    /// <summary>Criterion values checked in every call, in step order.</summary>
    public IReadOnlyList<IReadOnlyList<double>> ExitValues => _exitValues;

    /// <summary>The tensor-free schedule state the <see cref="DepthScheduler"/> plans with.</summary>
    public SequenceSchedule Schedule { get; }

    /// <summary>Current phase.</summary>
    public SequencePhase Phase => Schedule.Phase;

    /// <summary>Why it finished: null while running and when it failed (see <see cref="Error"/>).</summary>
    public FinishReason? FinishReason { get; internal set; }

    /// <summary>The error that failed the sequence (the model failed on it alone, or produced non-finite logits).</summary>
    public Exception? Error { get; internal set; }

    /// <summary>Prompt tokens processed.</summary>
    public int PromptTokens => Options.Prompt.Count;

    /// <summary>Prompt tokens whose keys and values came with a reused cache (not prefilled by this sequence).</summary>
    public int CachedPromptTokens { get; }

    internal Generator Generator { get; }

    internal ITokenConstraint? Constraint { get; }

    internal List<int> PendingTokens { get; set; }

    // Real (unpadded) tokens in the current call; the call's tensors may be right-padded to share a batch.
    internal int CallLength { get; set; }

    internal Tensor? Embedded { get; set; }

    // The call's rotary angles, (1, 1, S, D/2): the same for the prelude, every recurrence and the readout of a call.
    internal Tensor? CallRotation { get; set; }

    internal Tensor? State { get; set; }

    internal Tensor? WarmState { get; set; }

    // Criterion memory of the current call: the previous step's latent (latent criteria) or log-distribution (KL).
    internal Tensor? PreviousLatent { get; set; }

    internal Tensor? PreviousLogProbs { get; set; }

    // The second-to-last recurrence's state of a one-token fixed-depth call, read out beside the last one (KL measure).
    internal Tensor? PriorState { get; set; }

    internal double PreviousEntropy { get; set; } = 100.0;

    internal long PreviousArgmax { get; set; } = -1;

    internal long StableFor { get; set; }

    // Uniform draw of the current token (sampling rows), taken when the call starts so a speculative sample at an
    // exit check equals the one the token finally gets.
    internal double Uniform { get; set; }

    // Allowed-token bitmask of the current token (constrained rows), written when the call starts.
    internal ulong[]? AllowedWords { get; set; }

    // The last readout's next-token logits, kept only when RecordLogits.
    internal Tensor? LastLogits { get; set; }

    internal List<double> CurrentExitValues { get; set; } = [];

    // Generator state when the current call started, so a retried call draws the same initial state.
    internal Tensor? CallGeneratorState { get; set; }

    internal void Fail(Exception error)
    {
        Error = error;
        Schedule.Phase = SequencePhase.Finished;
    }

    internal void Record(GeneratedToken token, Tensor? logits)
    {
        _tokens.Add(token.TokenId);
        _generated.Add(token);
        _exitValues.Add(CurrentExitValues);
        CurrentExitValues = [];
        if (logits is not null)
        {
            _stepLogits.Add(logits);
        }
    }

    // Undoes a model call that failed part-way: the cache forgets the call's positions and the generator rewinds, so
    // the retried call computes exactly what the failed one would have.
    internal void RollBackCall()
    {
        if (CallGeneratorState is { } state)
        {
            Generator.set_state(state);
        }

        int expected = _tokens.Count - PendingTokens.Count;
        if (Cache.Length > expected)
        {
            Cache.Truncate(Cache.Length - expected);
        }

        ClearCall();
        CurrentExitValues = [];
        Schedule.RollBack();
    }

    internal void ClearCall()
    {
        Embedded?.Dispose();
        CallRotation?.Dispose();
        State?.Dispose();
        PreviousLatent?.Dispose();
        PreviousLogProbs?.Dispose();
        PriorState?.Dispose();
        LastLogits?.Dispose();
        Embedded = null;
        CallRotation = null;
        State = null;
        PreviousLatent = null;
        PreviousLogProbs = null;
        PriorState = null;
        LastLogits = null;
        PreviousEntropy = 100.0;
        PreviousArgmax = -1;
        StableFor = 0;
    }

    // Hands the cache to the caller (the prefix cache); the sequence no longer disposes it.
    internal SequenceKvCache DetachCache()
    {
        _cacheDetached = true;
        return Cache;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ClearCall();
        CallGeneratorState?.Dispose();
        WarmState?.Dispose();
        foreach (var t in _stepLogits)
        {
            t.Dispose();
        }

        if (!_cacheDetached)
        {
            Cache.Dispose();
        }

        Generator.Dispose();
    }
}
