namespace RecurrentDepth.Generation;

/// <summary>What one row does in a step, decided before the step runs (tensor-free).</summary>
/// <param name="Iterate">Run one recurrence.</param>
/// <param name="Readout">Run the coda and head on the row's state after the recurrence.</param>
/// <param name="Check">Evaluate the exit criterion after the recurrence.</param>
/// <param name="Sample">Sample a token from the readout (speculatively when the criterion may still say continue).</param>
/// <param name="Final">The token is produced this step whatever the criterion says (cap reached or already exited).</param>
/// <param name="Prior">Remember the readout's distribution for the KL of the call's last two steps.</param>
/// <param name="MeasureKl">Compute KL between the remembered distribution and this readout's.</param>
/// <param name="PairPrior">Keep the state this step starts from (the second-to-last) and read it out beside this step's
/// readout, in the same call, as the distribution that <paramref name="MeasureKl"/> compares with.</param>
public readonly record struct RowStep(bool Iterate, bool Readout, bool Check, bool Sample, bool Final, bool Prior, bool MeasureKl, bool PairPrior = false);

/// <summary>Rows that start a model call together (one prelude batch), with the cohort they recur in.</summary>
/// <param name="Rows">The rows.</param>
/// <param name="Cohort">The recurrence cohort (−1: single-token decode calls, which share one batch).</param>
public sealed record StartGroup(IReadOnlyList<SequenceSchedule> Rows, int Cohort);

/// <summary>A step's plan: prelude batches to start, then recurrence batches to run.</summary>
/// <param name="Starts">Rows that start a call this step, grouped into prelude batches.</param>
/// <param name="Recurs">Batches of rows that recur (or read out) this step, by cohort; includes rows just started.</param>
public sealed record StepPlan(IReadOnlyList<StartGroup> Starts, IReadOnlyList<IReadOnlyList<SequenceSchedule>> Recurs);

/// <summary>
/// Plans each decode step without touching tensors: which rows start a call (prefill chunks or single decode
/// tokens) and in which batch, which rows recur together at their own recurrence index, and which read out, check
/// their exit criterion and sample. With depth-aware scheduling a row whose token converged starts its next token
/// while others keep iterating; in lock step, new calls start only when no row is iterating (the reference's
/// batched generation). After the step's one host read, <see cref="Exits"/> and <see cref="Outcome"/> turn the read
/// values into decisions.
/// </summary>
public sealed class DepthScheduler(bool depthAware = true)
{
    private int _nextCohort;

    /// <summary>Whether converged rows move on without waiting for the deepest one.</summary>
    public bool DepthAware { get; } = depthAware;

    /// <summary>Plans the next step over <paramref name="rows"/> (finished rows are ignored).</summary>
    public StepPlan Plan(IReadOnlyList<SequenceSchedule> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var starts = new List<StartGroup>();
        bool anyRecurring = rows.Any(s => s.Phase == SequencePhase.Recurring);
        var starting = new HashSet<SequenceSchedule>();
        if (DepthAware || !anyRecurring)
        {
            foreach (var group in rows.Where(s => s.Phase == SequencePhase.Pending).GroupBy(s => (Alone: s.Isolated ? s.Id : -1, Decode: s.PendingCount == 1)))
            {
                var members = group.ToList();
                bool decode = group.Key.Decode && group.Key.Alone < 0;
                starts.Add(new StartGroup(members, decode ? -1 : _nextCohort++));
                starting.UnionWith(members);
            }
        }

        // Rows just started recur in this step too: their cohort is the one their start group gives them.
        var cohortOf = starts.SelectMany(g => g.Rows.Select(r => (Row: r, g.Cohort))).ToDictionary(x => x.Row, x => x.Cohort);
        var recurs = rows
            .Where(s => s.Phase == SequencePhase.Recurring || starting.Contains(s))
            .GroupBy(s => (Alone: s.Isolated ? s.Id : -1, Cohort: cohortOf.TryGetValue(s, out int c) ? c : s.Cohort))
            .Select(g => (IReadOnlyList<SequenceSchedule>)g.ToList())
            .ToList();
        return new StepPlan(starts, recurs);
    }

    /// <summary>
    /// Most recurrences one core call runs for a batch (multi-step): more saves per-call work; fewer let rows waiting
    /// to start (new requests, rows whose token is done) join sooner.
    /// </summary>
    public const int MaxFusedSteps = 8;

    /// <summary>
    /// How many recurrences <paramref name="rows"/> (one recurrence batch) run in one core call: every step up to and
    /// including the first at which any of them reads out, checks its criterion or ends its call, and at most
    /// <paramref name="limit"/>. The steps before that one only iterate, so running them in one call changes
    /// nothing but the number of calls; what the rows do after it is <see cref="Work"/> with that many steps ahead.
    /// </summary>
    /// <param name="rows">The batch's rows.</param>
    /// <param name="limit">Most steps to fuse (1: one step per call).</param>
    public static int FusedSteps(IReadOnlyList<SequenceSchedule> rows, int limit = MaxFusedSteps)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        int steps = limit;
        foreach (var row in rows)
        {
            if (row.AwaitingReadout)
            {
                return 1;
            }

            int plain = 0;
            while (plain + 1 < steps && Work(row, plain) is { Iterate: true, Readout: false, Check: false, Final: false, Prior: false, PairPrior: false })
            {
                plain++;
            }

            steps = plain + 1;
        }

        return steps;
    }

    /// <summary>What <paramref name="row"/> does in this step, given the steps it has run so far in its call.</summary>
    /// <param name="row">The row.</param>
    /// <param name="ahead">Steps it runs before this one in the same core call (multi-step, <see cref="FusedSteps"/>).</param>
    public static RowStep Work(SequenceSchedule row, int ahead = 0)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentOutOfRangeException.ThrowIfNegative(ahead);
        if (row.AwaitingReadout)
        {
            return new RowStep(Iterate: false, Readout: true, Check: false, Sample: true, Final: true, Prior: false, MeasureKl: false);
        }

        int done = row.Recurrence + ahead + 1;
        bool atCap = done >= row.CallMaxSteps;
        if (!row.UsesCriterion)
        {
            // A one-token call reads its second-to-last state out beside the last one: one readout call per token
            // instead of two. A longer call (the prompt) reads it out on its own step, as its positions would
            // not fit the pool's scratch entries in general.
            bool paired = row.CallTokens == 1;
            bool prior = row.MeasuresKl && done == row.CallMaxSteps - 1 && !paired;
            bool measure = atCap && row.MeasuresKl;
            return new RowStep(Iterate: true, Readout: atCap || prior, Check: false, Sample: atCap, Final: atCap, Prior: prior, MeasureKl: measure,
                PairPrior: measure && paired);
        }

        bool check = ShouldCheck(row, done - 1);
        bool logits = ExitCriteria.UsesLogits(row.Depth.Criterion);
        bool readout = atCap || check && logits;
        return new RowStep(Iterate: true, Readout: readout, Check: check, Sample: readout, Final: atCap, Prior: false, MeasureKl: false);
    }

    /// <summary>Whether the criterion is evaluated after 0-based step <paramref name="step"/> of the current call.</summary>
    public static bool ShouldCheck(SequenceSchedule row, int step)
    {
        ArgumentNullException.ThrowIfNull(row);
        var depth = row.Depth;
        return step >= depth.MinSteps
            && (step - depth.MinSteps) % depth.CheckEvery == 0
            && !(depth.NoExitInPrefill && row.CallIndex == 0);
    }

    /// <summary>Whether a criterion value means "converged": below the threshold, or (argmax stability) at least it.</summary>
    public static bool Exits(DepthPolicy depth, double value)
    {
        ArgumentNullException.ThrowIfNull(depth);
        return depth.Criterion == ExitCriterion.ArgmaxStability ? value >= depth.EffectiveThreshold : value < depth.EffectiveThreshold;
    }

    /// <summary>What happens to a row after its step, once the host knows whether its criterion fired.</summary>
    /// <returns>Finish the token now, wait one step for its readout (a latent criterion fired), or keep iterating.</returns>
    public static StepOutcome Outcome(SequenceSchedule row, RowStep step, bool exited)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (step.Final || exited && step.Readout)
        {
            return StepOutcome.Finish;
        }

        return exited ? StepOutcome.AwaitReadout : StepOutcome.Continue;
    }

    /// <summary>
    /// The value above which a token counts as unconverged: the policy's threshold, or for fixed depth the paper's
    /// KL threshold 5e-4 unless the policy names one. Argmax stability counts the other way (below = unconverged).
    /// </summary>
    public static double ConvergenceThreshold(DepthPolicy depth)
    {
        ArgumentNullException.ThrowIfNull(depth);
        return depth.Criterion == ExitCriterion.None ? depth.Threshold ?? FixedDepthKlThreshold : depth.EffectiveThreshold;
    }

    /// <summary>Whether a token's exit value counts as unconverged under <paramref name="depth"/>.</summary>
    public static bool IsUnconverged(DepthPolicy depth, double value)
    {
        ArgumentNullException.ThrowIfNull(depth);
        double threshold = ConvergenceThreshold(depth);
        return depth.Criterion == ExitCriterion.ArgmaxStability ? value < threshold : value > threshold;
    }

    /// <summary>KL threshold used to judge fixed-depth tokens (the paper's 5e-4).</summary>
    public const double FixedDepthKlThreshold = 5e-4;
}

/// <summary>What a row does after a step.</summary>
public enum StepOutcome
{
    /// <summary>Keep iterating.</summary>
    Continue,

    /// <summary>Its token is produced now.</summary>
    Finish,

    /// <summary>A latent criterion fired; the readout and sample run next step.</summary>
    AwaitReadout,
}
