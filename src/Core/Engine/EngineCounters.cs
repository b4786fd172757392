using RecurrentDepth.Generation;

namespace RecurrentDepth.Engine;

/// <summary>Running totals of an engine's work, written by the engine thread and read from any thread.</summary>
public sealed class EngineCounters
{
    private long _coreBatches, _sequenceSteps, _generatedTokens, _hostReads, _steps, _prefilledTokens;

    /// <summary>Batched recurrence steps run so far (what depth-aware scheduling saves).</summary>
    public long CoreBatches => Interlocked.Read(ref _coreBatches);

    /// <summary>Recurrence steps summed over sequences so far.</summary>
    public long SequenceSteps => Interlocked.Read(ref _sequenceSteps);

    /// <summary>Tokens generated so far, all requests together.</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    /// <summary>Device-to-host reads so far (at most one per decode step).</summary>
    public long HostReads => Interlocked.Read(ref _hostReads);

    /// <summary>Decode steps run so far.</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Prompt positions run through the model so far (a reused prefix is not run again).</summary>
    public long PrefilledTokens => Interlocked.Read(ref _prefilledTokens);

    internal static (long Batches, long SequenceSteps, long Reads, long Steps, long Prefilled) Read(RecurrentDecoder d) =>
        (d.CoreBatches, d.SequenceSteps, d.HostReads, d.Steps, d.PrefilledTokens);

    internal void Add((long Batches, long SequenceSteps, long Reads, long Steps, long Prefilled) before, (long Batches, long SequenceSteps, long Reads, long Steps, long Prefilled) after)
    {
        Interlocked.Add(ref _coreBatches, after.Batches - before.Batches);
        Interlocked.Add(ref _sequenceSteps, after.SequenceSteps - before.SequenceSteps);
        Interlocked.Add(ref _hostReads, after.Reads - before.Reads);
        Interlocked.Add(ref _steps, after.Steps - before.Steps);
        Interlocked.Add(ref _prefilledTokens, after.Prefilled - before.Prefilled);
    }

    internal void TokenGenerated() => Interlocked.Increment(ref _generatedTokens);
}
