using RecurrentDepth.Generation;

namespace RecurrentDepth.Tests.Generation;

/// <summary>
/// The tensor-free <see cref="DepthScheduler"/>, without a model: what each row does at each step of a call (readouts,
/// the KL measurement of fixed-depth tokens, exit checks) and which rows start and recur together, depth-aware and
/// in lock step. Expected plans are written out by hand from the policies.
/// </summary>
public sealed class DepthSchedulerTests
{
    [Fact]
    public void A_one_token_fixed_depth_call_reads_out_once_with_its_second_to_last_state_beside_the_last()
    {
        var row = Started(DepthPolicy.Fixed(4), measure: true, tokens: 1);

        var steps = RunCall(row);

        Assert.Equal(4, steps.Count);
        Assert.All(steps, s => Assert.True(s.Iterate));
        Assert.Equal([false, false, false, true], steps.Select(s => s.Readout));
        Assert.All(steps, s => Assert.False(s.Prior));
        Assert.Equal(new RowStep(Iterate: true, Readout: true, Check: false, Sample: true, Final: true, Prior: false, MeasureKl: true, PairPrior: true), steps[3]);
    }

    [Fact]
    public void A_prompt_call_reads_its_second_to_last_step_out_on_that_step()
    {
        var row = Started(DepthPolicy.Fixed(4), measure: true, tokens: 12);

        var steps = RunCall(row);

        Assert.Equal([false, false, true, true], steps.Select(s => s.Readout));
        Assert.Equal([false, false, true, false], steps.Select(s => s.Prior));
        Assert.True(steps[3].MeasureKl);
        Assert.All(steps, s => Assert.False(s.PairPrior));
    }

    [Theory]
    [InlineData(false, 4)] // measurement off
    [InlineData(true, 1)]  // one step: there is no second-to-last state
    public void Without_a_measurement_a_fixed_depth_call_reads_out_only_at_its_cap(bool measure, int depth)
    {
        var row = Started(DepthPolicy.Fixed(depth), measure, tokens: 1);

        var steps = RunCall(row);

        Assert.Equal(depth, steps.Count);
        Assert.Equal(Enumerable.Range(1, depth).Select(d => d == depth), steps.Select(s => s.Readout));
        Assert.All(steps, s => Assert.False(s.Prior || s.MeasureKl || s.PairPrior));
    }

    [Fact]
    public void A_kl_exit_row_checks_from_its_min_steps_every_check_every_steps_and_samples_where_it_checks()
    {
        var policy = new DepthPolicy { Criterion = ExitCriterion.Kl, Threshold = 5e-4, MaxSteps = 10, MinSteps = 3, CheckEvery = 2 }.Validate();
        var row = Started(policy, measure: true, tokens: 1);

        var steps = RunCall(row);

        // 0-based steps 3, 5, 7, 9 check; the cap (step 9) is final.
        Assert.Equal([false, false, false, true, false, true, false, true, false, true], steps.Select(s => s.Check));
        Assert.Equal(steps.Select(s => s.Check), steps.Select(s => s.Readout));
        Assert.Equal(steps.Select(s => s.Check), steps.Select(s => s.Sample));
        Assert.Equal([false, false, false, false, false, false, false, false, false, true], steps.Select(s => s.Final));
        Assert.All(steps, s => Assert.False(s.Prior || s.MeasureKl || s.PairPrior)); // the criterion's own value is its measurement
    }

    [Fact]
    public void An_exit_finishes_the_token_and_a_latent_exit_waits_one_step_for_its_readout()
    {
        var logits = Started(new DepthPolicy { Criterion = ExitCriterion.Kl, MaxSteps = 8 }.Validate(), measure: true, tokens: 1);
        var logitsStep = DepthScheduler.Work(logits);
        Assert.Equal(StepOutcome.Finish, DepthScheduler.Outcome(logits, logitsStep, exited: true));
        Assert.Equal(StepOutcome.Continue, DepthScheduler.Outcome(logits, logitsStep, exited: false));

        var latent = Started(new DepthPolicy { Criterion = ExitCriterion.LatentDiff, MaxSteps = 8 }.Validate(), measure: true, tokens: 1);
        var latentStep = DepthScheduler.Work(latent);
        Assert.True(latentStep.Check);
        Assert.False(latentStep.Readout);
        Assert.Equal(StepOutcome.AwaitReadout, DepthScheduler.Outcome(latent, latentStep, exited: true));
        latent.AwaitingReadout = true;
        Assert.Equal(new RowStep(Iterate: false, Readout: true, Check: false, Sample: true, Final: true, Prior: false, MeasureKl: false), DepthScheduler.Work(latent));
    }

    [Fact]
    public void Steps_that_only_iterate_are_fused_into_the_call_of_the_next_step_that_does_more()
    {
        var decode = Started(DepthPolicy.Fixed(8), measure: true, tokens: 1);
        Assert.Equal(8, DepthScheduler.FusedSteps([decode]));            // 7 plain steps, then the readout at the cap
        Assert.Equal(3, DepthScheduler.FusedSteps([decode], limit: 3));
        Assert.Equal(1, DepthScheduler.FusedSteps([decode], limit: 1));
        decode.Recurrence = 5;
        Assert.Equal(3, DepthScheduler.FusedSteps([decode]));
        Assert.True(DepthScheduler.Work(decode, ahead: 2).PairPrior);

        var prompt = Started(DepthPolicy.Fixed(4), measure: true, tokens: 12);
        Assert.Equal(3, DepthScheduler.FusedSteps([prompt]));            // its step 3 reads out the prior on its own
        prompt.Recurrence = 3;
        Assert.Equal(1, DepthScheduler.FusedSteps([prompt]));

        var kl = Started(new DepthPolicy { Criterion = ExitCriterion.Kl, MaxSteps = 32, MinSteps = 3 }.Validate(), measure: true, tokens: 1);
        Assert.Equal(4, DepthScheduler.FusedSteps([kl]));                // 0-based steps 0-2 plain, step 3 checks
        Assert.Equal(3, DepthScheduler.FusedSteps([decode, kl]));        // a batch stops at its first row's event (decode's cap)
        kl.Recurrence = 4;
        Assert.Equal(1, DepthScheduler.FusedSteps([kl]));                // checks every step from here

        var waiting = Started(new DepthPolicy { Criterion = ExitCriterion.LatentDiff, MaxSteps = 8, MinSteps = 4 }.Validate(), measure: true, tokens: 1);
        waiting.AwaitingReadout = true;
        Assert.Equal(1, DepthScheduler.FusedSteps([waiting, Started(DepthPolicy.Fixed(8), measure: false, tokens: 1)]));
    }

    [Fact]
    public void Depth_aware_planning_starts_waiting_rows_beside_recurring_ones_and_lock_step_holds_them()
    {
        var recurring = Started(DepthPolicy.Fixed(8), measure: false, tokens: 1, id: 0);
        var decodeA = Pending(id: 1, tokens: 1);
        var decodeB = Pending(id: 2, tokens: 1);
        var prompt = Pending(id: 3, tokens: 12);
        SequenceSchedule[] rows = [recurring, decodeA, decodeB, prompt];

        var held = new DepthScheduler(depthAware: false).Plan(rows);
        Assert.Empty(held.Starts);
        Assert.Equal([[recurring]], held.Recurs);

        var plan = new DepthScheduler(depthAware: true).Plan(rows);
        Assert.Equal(2, plan.Starts.Count);
        var decodes = Assert.Single(plan.Starts, g => g.Cohort == -1); // one-token calls share one batch
        Assert.Equal([decodeA, decodeB], decodes.Rows);
        var prompts = Assert.Single(plan.Starts, g => g.Cohort >= 0);  // a prompt call gets a cohort of its own
        Assert.Equal([prompt], prompts.Rows);
        // The started decode rows recur this step beside the row already recurring (cohort −1); the prompt alone.
        Assert.Equal(2, plan.Recurs.Count);
        Assert.Contains(plan.Recurs, g => g.SequenceEqual([recurring, decodeA, decodeB]));
        Assert.Contains(plan.Recurs, g => g.SequenceEqual([prompt]));
    }

    [Fact]
    public void An_isolated_row_starts_and_recurs_alone()
    {
        var isolated = Pending(id: 0, tokens: 1);
        isolated.Isolated = true;
        var other = Pending(id: 1, tokens: 1);

        var plan = new DepthScheduler().Plan([isolated, other]);

        Assert.Equal(2, plan.Starts.Count);
        Assert.Contains(plan.Recurs, g => g.SequenceEqual([isolated]));
        Assert.Contains(plan.Recurs, g => g.SequenceEqual([other]));
    }

    private static SequenceSchedule Pending(int id, int tokens) =>
        new(id, DepthPolicy.Fixed(4), stepSchedule: null, measureConvergence: false, promptLength: tokens);

    private static SequenceSchedule Started(DepthPolicy depth, bool measure, int tokens, int id = 0)
    {
        var row = new SequenceSchedule(id, depth, stepSchedule: null, measure, promptLength: tokens);
        row.StartCall();
        return row;
    }

    // The steps of the row's call up to its cap, as the decoder advances them when no criterion fires.
    private static List<RowStep> RunCall(SequenceSchedule row)
    {
        var steps = new List<RowStep>();
        while (true)
        {
            var step = DepthScheduler.Work(row);
            steps.Add(step);
            row.Recurrence++;
            if (DepthScheduler.Outcome(row, step, exited: false) == StepOutcome.Finish)
            {
                return steps;
            }
        }
    }
}
