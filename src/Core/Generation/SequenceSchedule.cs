namespace RecurrentDepth.Generation;

/// <summary>Where a sequence is in its current model call.</summary>
public enum SequencePhase
{
    /// <summary>Waiting to run the prelude on its pending tokens.</summary>
    Pending,

    /// <summary>Iterating the recurrent core (or waiting for the readout of a token whose latent criterion fired).</summary>
    Recurring,

    /// <summary>Done; see <see cref="DecodeSequence.FinishReason"/> and <see cref="DecodeSequence.Error"/>.</summary>
    Finished,
}

/// <summary>
/// The host-side, tensor-free schedule state of one sequence: what the <see cref="DepthScheduler"/> plans with.
/// The decoder's thread owns it.
/// </summary>
public sealed class SequenceSchedule
{
    /// <summary>Creates the schedule of a sequence with <paramref name="promptLength"/> prompt tokens.</summary>
    /// <param name="id">Decoder-assigned id (keeps plans deterministic).</param>
    /// <param name="depth">The depth policy.</param>
    /// <param name="stepSchedule">Scripted depth per call, or null.</param>
    /// <param name="measureConvergence">Read out the step before the last one of fixed-depth calls to measure KL.</param>
    /// <param name="promptLength">Prompt tokens (the first call's length).</param>
    public SequenceSchedule(int id, DepthPolicy depth, Func<int, int>? stepSchedule, bool measureConvergence, int promptLength)
    {
        ArgumentNullException.ThrowIfNull(depth);
        Id = id;
        Depth = depth;
        StepSchedule = stepSchedule;
        MeasureConvergence = measureConvergence;
        PendingCount = promptLength;
    }

    /// <summary>Decoder-assigned id.</summary>
    public int Id { get; }

    /// <summary>The depth policy.</summary>
    public DepthPolicy Depth { get; }

    /// <summary>Scripted steps per call (overrides the criterion), or null.</summary>
    public Func<int, int>? StepSchedule { get; }

    /// <summary>Whether fixed-depth calls also read out their second-to-last step (KL of the last two steps).</summary>
    public bool MeasureConvergence { get; }

    /// <summary>Current phase.</summary>
    public SequencePhase Phase { get; set; } = SequencePhase.Pending;

    /// <summary>Tokens the next call feeds (the prompt, then one generated token).</summary>
    public int PendingCount { get; set; }

    /// <summary>0-based index of the current call (0 = the prompt).</summary>
    public int CallIndex { get; set; }

    /// <summary>Recurrence steps run in the current call.</summary>
    public int Recurrence { get; set; }

    /// <summary>Step cap of the current call.</summary>
    public int CallMaxSteps { get; set; }

    /// <summary>Tokens the current call feeds (<see cref="PendingCount"/> when it started).</summary>
    public int CallTokens { get; private set; }

    /// <summary>Set after a batch this sequence was in failed: its next call runs alone, so a failure is pinned on its owner.</summary>
    public bool Isolated { get; set; }

    /// <summary>Calls that started together share a batch while they recur: −1 for single-token decode calls.</summary>
    public int Cohort { get; set; } = -1;

    /// <summary>A latent criterion fired at the last step: the row waits for its readout and sample, without iterating.</summary>
    public bool AwaitingReadout { get; set; }

    /// <summary>Whether the exit criterion (not a schedule, not fixed depth) decides this sequence's depth.</summary>
    public bool UsesCriterion => StepSchedule is null && Depth.Criterion != ExitCriterion.None;

    /// <summary>Whether the current call's last step is compared with the one before (fixed depth, measurement on).</summary>
    public bool MeasuresKl => !UsesCriterion && MeasureConvergence && CallMaxSteps >= 2;

    /// <summary>Starts a model call: the cap comes from the schedule or the policy.</summary>
    public void StartCall()
    {
        Recurrence = 0;
        AwaitingReadout = false;
        CallMaxSteps = StepSchedule?.Invoke(CallIndex) ?? Depth.MaxSteps;
        CallTokens = PendingCount;
        Phase = SequencePhase.Recurring;
    }

    /// <summary>Ends the current call after its token was produced.</summary>
    public void EndCall()
    {
        CallIndex++;
        Isolated = false;
        AwaitingReadout = false;
        PendingCount = 1;
    }

    /// <summary>Undoes a call that failed part-way: the call restarts from its first step.</summary>
    public void RollBack()
    {
        Recurrence = 0;
        AwaitingReadout = false;
        Phase = SequencePhase.Pending;
    }
}
