using RecurrentDepth.Caching;
using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>Where a sequence is in its current model call.</summary>
public enum SequencePhase
{
    /// <summary>Waiting to run the prelude on its pending tokens.</summary>
    Pending,

    /// <summary>Iterating the recurrent core.</summary>
    Recurring,

    /// <summary>Done; see <see cref="DecodeSequence.FinishReason"/>.</summary>
    Finished,
}

/// <summary>Why a sequence stopped.</summary>
public enum SequenceFinish
{
    /// <summary>Not finished.</summary>
    None,

    /// <summary>A stop token was generated.</summary>
    Stop,

    /// <summary>The token budget or the context limit was reached.</summary>
    Length,

    /// <summary>Removed by the caller.</summary>
    Cancelled,

    /// <summary>The model failed on this sequence's call even when it ran alone; see <see cref="DecodeSequence.Error"/>.</summary>
    Faulted,
}

/// <summary>
/// One sequence inside a <see cref="RecurrentDecoder"/>: its cache, its tokens, the per-token compute it spent, and
/// the state of its current model call. Owned by the decoder's thread.
/// </summary>
public sealed class DecodeSequence : IDisposable
{
    private readonly List<int> _tokens;
    private readonly List<GeneratedTokenRecord> _generated = [];
    private readonly List<Tensor> _stepLogits = [];
    private readonly List<List<double>> _exitValues = [];

    internal DecodeSequence(int id, SequenceOptions options, SequenceKvCache cache, Generator generator)
    {
        Id = id;
        Options = options;
        Cache = cache;
        Generator = generator;
        _tokens = [.. options.Prompt];
        PendingTokens = [.. options.Prompt];
    }

    /// <summary>Decoder-assigned id.</summary>
    public int Id { get; }

    /// <summary>The options the sequence was admitted with.</summary>
    public SequenceOptions Options { get; }

    /// <summary>The sequence's key/value cache.</summary>
    public SequenceKvCache Cache { get; }

    /// <summary>Prompt followed by generated tokens.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Generated tokens with the compute each took.</summary>
    public IReadOnlyList<GeneratedTokenRecord> Generated => _generated;

    /// <summary>Next-token logits of every call (when <see cref="SequenceOptions.RecordLogits"/>).</summary>
    public IReadOnlyList<Tensor> StepLogits => _stepLogits;

    /// <summary>Criterion values checked in every call, in step order.</summary>
    public IReadOnlyList<IReadOnlyList<double>> ExitValues => _exitValues;

    /// <summary>Current phase.</summary>
    public SequencePhase Phase { get; internal set; } = SequencePhase.Pending;

    /// <summary>Why it finished (None while running).</summary>
    public SequenceFinish FinishReason { get; internal set; }

    /// <summary>The error that faulted the sequence (when <see cref="FinishReason"/> is <see cref="SequenceFinish.Faulted"/>).</summary>
    public Exception? Error { get; internal set; }

    /// <summary>Prompt tokens processed.</summary>
    public int PromptTokens => Options.Prompt.Count;

    internal Generator Generator { get; }

    internal List<int> PendingTokens { get; set; }

    internal int CallIndex { get; set; }

    // Set after a batch this sequence was in failed: its next call runs alone, so a failure is pinned on its owner.
    internal bool Isolated { get; set; }

    // Real (unpadded) tokens in the current call; the call's tensors may be right-padded to share a batch.
    internal int CallLength { get; set; }

    // Calls that started together share a batch while they recur: −1 for single-token decode calls.
    internal int Cohort { get; set; } = -1;

    internal int Recurrence { get; set; }

    internal int CallMaxSteps { get; set; }

    internal Tensor? Embedded { get; set; }

    internal Tensor? State { get; set; }

    internal Tensor? WarmState { get; set; }

    internal ExitEvaluator? Evaluator { get; set; }

    internal List<double>? CurrentExitValues { get; set; }

    internal void Record(int token, int steps, bool exitedEarly, Tensor? logits)
    {
        _tokens.Add(token);
        _generated.Add(new GeneratedTokenRecord(token, steps, exitedEarly));
        _exitValues.Add(CurrentExitValues ?? []);
        if (logits is not null)
        {
            _stepLogits.Add(logits);
        }
    }

    // Generator state when the current call started, so a retried call draws the same initial state.
    internal Tensor? CallGeneratorState { get; set; }

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
        Phase = SequencePhase.Pending;
    }

    internal void ClearCall()
    {
        Embedded?.Dispose();
        State?.Dispose();
        Evaluator?.Dispose();
        Embedded = null;
        State = null;
        Evaluator = null;
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

        Cache.Dispose();
        Generator.Dispose();
    }
}

/// <summary>A generated token and the latent compute of the call that produced it.</summary>
/// <param name="TokenId">Vocabulary id.</param>
/// <param name="Steps">Recurrence steps of that call.</param>
/// <param name="ExitedEarly">Whether the exit criterion (or a schedule) ended it before the cap.</param>
public readonly record struct GeneratedTokenRecord(int TokenId, int Steps, bool ExitedEarly);
