using RecurrentDepth.Caching;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// The device half of a recurrence batch: what <see cref="ModelRunner.Recur"/> queued for the step's host read,
/// per row (−1 where the row queued nothing of that kind). <c>PriorFiniteAt</c> is the finite flag of the row's
/// second-to-last state read out beside it (<see cref="RowStep.PairPrior"/>): its logits count as finite only when
/// both flags are set.
/// </summary>
internal sealed record GroupWork(IReadOnlyList<DecodeSequence> Rows, RowStep[] Steps, int[] ValueAt, int[] FiniteAt, int[] PriorFiniteAt, int[] KlAt, int[] TokenAt);

/// <summary>
/// Executes a <see cref="DepthScheduler"/> plan on the model: starts calls (prelude over each row's pending tokens,
/// right-padded into one batch) and runs a recurrence batch — one core call of one or more batched steps
/// (<see cref="DepthScheduler.FusedSteps"/>) at every row's own recurrence index, one batched readout for the rows
/// that need logits (ModelRunner.Readout.cs), then exit values, finite flags and sampled tokens of all rows as batch
/// tensors queued on a <see cref="StepReadback"/>. Nothing here reads the device.
/// </summary>
internal sealed partial class ModelRunner(RavenModel model)
{
    /// <summary>Test hook: runs before every core call (one or more batched recurrences) with its sequences (may throw).</summary>
    public Action<IReadOnlyList<DecodeSequence>>? BeforeRecurrence { get; set; }

    /// <summary>Test hook: may overwrite the last-position logits (n, V) of a readout batch, e.g. with NaN.</summary>
    public Action<IReadOnlyList<DecodeSequence>, Tensor>? AfterReadout { get; set; }

    /// <summary>Test hook: may overwrite the logits (n, V) of the second-to-last states read out beside the last (KL prior).</summary>
    public Action<IReadOnlyList<DecodeSequence>, Tensor>? AfterPriorReadout { get; set; }

    /// <summary>Most recurrences one core call runs (<see cref="DepthScheduler.FusedSteps"/>); tests set 1 to compare.</summary>
    public int MaxFusedSteps { get; set; } = DepthScheduler.MaxFusedSteps;

    public long CoreBatches { get; private set; }

    public long CoreCalls { get; private set; }

    public long PreludeCalls { get; private set; }

    public long ReadoutCalls { get; private set; }

    public long SequenceSteps { get; private set; }

    public int VocabSize => model.Config.VocabSize;

    public void StartCalls(IReadOnlyList<DecodeSequence> rows, int cohort)
    {
        foreach (var row in rows)
        {
            row.CallGeneratorState?.Dispose();
            row.CallGeneratorState = row.Generator.get_state().DetachFromDisposeScope();
        }

        using var scope = NewDisposeScope();
        int padded = rows.Max(r => r.PendingTokens.Count);
        foreach (var row in rows)
        {
            row.CallLength = row.PendingTokens.Count;
            row.Schedule.Cohort = cohort;
        }

        // Right padding repeats each row's last token; padded positions are masked out and never stored. Ids are built
        // on the host: the embedding's range check then reads host memory, not the device.
        var ids = tensor(
            rows.SelectMany(r => Enumerable.Range(0, padded).Select(i => (long)r.PendingTokens[Math.Min(i, r.CallLength - 1)])).ToArray(),
            [rows.Count, padded]);
        var rotation = model.RotationAt(Positions(rows, padded), rows.Count);
        using var store = new BatchAttentionStore(rows.Select(r => r.Cache).ToList(), rows.Select(r => r.CallLength).ToList());
        var embedded = model.RunPrelude(model.EmbedChecked(ids), new AttentionContext(rotation, store));
        PreludeCalls++;
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            row.Embedded = Row(embedded, r, rows.Count);
            row.CallRotation = (rows.Count == 1 ? rotation : rotation.narrow(0, r, 1)).DetachFromDisposeScope();
            var initial = InitialStateFor(row, row.CallLength);
            row.Schedule.StartCall();
            var state = padded > row.CallLength
                ? cat([initial, zeros([1, padded - row.CallLength, model.Config.NEmbd], model.DType, model.Device)], 1)
                : initial;
            row.State = state.DetachFromDisposeScope();
            if (row.Schedule.UsesCriterion && !ExitCriteria.UsesLogits(row.Options.Depth.Criterion))
            {
                row.PreviousLatent = state.clone().DetachFromDisposeScope();
            }

            row.CurrentExitValues = [];
            if (!row.Options.Sampling.IsGreedy)
            {
                row.Uniform = TokenSampler.DrawUniform(row.Generator);
            }

            if (row.Constraint is { } constraint)
            {
                var words = new ulong[(VocabSize + 63) / 64];
                constraint.WriteAllowed(words);
                if (Array.TrueForAll(words, w => w == 0))
                {
                    throw new InvalidOperationException($"The output constraint allows no token after {row.Generated.Count} generated tokens.");
                }

                row.AllowedWords = words;
            }
        }
    }

    public GroupWork Recur(IReadOnlyList<DecodeSequence> rows, StepReadback readback)
    {
        using var scope = NewDisposeScope();
        int n = rows.Count;
        // Steps that only iterate run in the same core call as the step after them (multi-step); what follows the
        // call is the last step's work.
        int fused = DepthScheduler.FusedSteps(rows.Select(r => r.Schedule).ToList(), MaxFusedSteps);
        var steps = rows.Select(r => DepthScheduler.Work(r.Schedule, fused - 1)).ToArray();
        int[] valueAt = Filled(n), finiteAt = Filled(n), priorFiniteAt = Filled(n), klAt = Filled(n), tokenAt = Filled(n);
        var iterated = Enumerable.Range(0, n).Where(i => steps[i].Iterate).ToList();
        var iterating = iterated.Select(i => rows[i]).ToList();
        if (iterating.Count > 0)
        {
            BeforeRecurrence?.Invoke(iterating);
            using var store = new BatchAttentionStore(iterating.Select(r => r.Cache).ToList(), iterating.Select(r => r.CallLength).ToList(), iterating.Select(r => r.Schedule.Recurrence).ToList());
            var context = new AttentionContext(Batch(iterating, r => r.CallRotation!), store);
            var (next, before) = model.IterateSteps(Batch(iterating, r => r.State!), Batch(iterating, r => r.Embedded!), fused, context);
            CoreCalls++;
            CoreBatches += fused;
            SequenceSteps += (long)fused * iterating.Count;
            for (int i = 0; i < iterating.Count; i++)
            {
                var row = iterating[i];
                var old = row.State!;
                row.State = Row(next, i, iterating.Count);
                row.Schedule.Recurrence += fused;
                if (steps[iterated[i]].PairPrior)
                {
                    row.PriorState?.Dispose();
                    row.PriorState = Row(before, i, iterating.Count); // read out beside the new state below
                }

                if (!ReferenceEquals(old, row.PriorState))
                {
                    old.Dispose();
                }
            }
        }

        var latentChecks = Enumerable.Range(0, n).Where(i => steps[i].Check && !ExitCriteria.UsesLogits(rows[i].Options.Depth.Criterion));
        foreach (var group in latentChecks.GroupBy(i => rows[i].Options.Depth.Criterion))
        {
            var members = group.ToList();
            var states = Batch(members.Select(i => rows[i]).ToList(), r => r.State!);
            var previous = Batch(members.Select(i => rows[i]).ToList(), r => r.PreviousLatent!);
            int offset = readback.Add(BatchExit.FromLatents(group.Key, states, previous, members.Select(i => rows[i].CallLength).ToList()));
            for (int j = 0; j < members.Count; j++)
            {
                var row = rows[members[j]];
                valueAt[members[j]] = offset + j;
                row.PreviousLatent!.Dispose();
                row.PreviousLatent = row.State!.clone().DetachFromDisposeScope();
            }
        }

        var reading = Enumerable.Range(0, n).Where(i => steps[i].Readout).ToList();
        if (reading.Count > 0)
        {
            ReadOut(rows, steps, reading, readback, valueAt, finiteAt, priorFiniteAt, klAt, tokenAt);
        }

        return new GroupWork(rows, steps, valueAt, finiteAt, priorFiniteAt, klAt, tokenAt);
    }

    /// <summary>The post-ln_f latent of the row's last position: the warm start of its next token (continuous compute).</summary>
    public Tensor WarmStart(DecodeSequence row)
    {
        using var scope = NewDisposeScope();
        return model.NormalizeLatent(row.State!.narrow(1, row.CallLength - 1, 1)).MoveToOuterDisposeScope();
    }

    private static int[] Filled(int n) => Enumerable.Repeat(-1, n).ToArray();

    private Tensor InitialStateFor(DecodeSequence row, int count)
    {
        if (row.Options.Depth.ContinuousCompute && row.WarmState is not null)
        {
            return row.WarmState.clone();
        }

        int start = row.Cache.Length - count;
        if (row.Options.InitialStates is { } provider)
        {
            var given = provider(start, count);
            if (!given.shape.SequenceEqual(new long[] { 1, count, model.Config.NEmbd }))
            {
                throw new InvalidOperationException($"The initial-state provider returned shape [{string.Join(", ", given.shape)}] for {count} positions; expected [1, {count}, {model.Config.NEmbd}].");
            }

            return given.to(model.DType, model.Device);
        }

        return InitialState.Sample(model.Config, [1, count, model.Config.NEmbd], row.Options.Depth.InitScale, row.Generator, model.DType, model.Device);
    }

    // Positions of each row's tokens in this call, B × padded row-major, on the host: the new tokens start at the
    // cache length (the prelude appends them). Padding repeats the row's last position.
    private static long[] Positions(IReadOnlyList<DecodeSequence> rows, int padded)
    {
        var values = new long[rows.Count * padded];
        for (int r = 0; r < rows.Count; r++)
        {
            int count = rows[r].CallLength, first = rows[r].Cache.Length;
            for (int s = 0; s < padded; s++)
            {
                values[r * padded + s] = first + Math.Min(s, count - 1);
            }
        }

        return values;
    }

    // Row i of a batch result as a row's own tensor (the result itself for a batch of one), kept past the step's scope.
    private static Tensor Row(Tensor batch, int i, int rows) => (rows == 1 ? batch : batch.narrow(0, i, 1).clone()).DetachFromDisposeScope();

    // One batch tensor of the rows' per-call tensors; a single row's own tensor, uncopied.
    private static Tensor Batch(IReadOnlyList<DecodeSequence> rows, Func<DecodeSequence, Tensor> of) =>
        rows.Count == 1 ? of(rows[0]) : cat(rows.Select(of).ToList(), 0);
}
