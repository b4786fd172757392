using RecurrentDepth.Caching;
using RecurrentDepth.Engine;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>A token the decoder produced in a <see cref="RecurrentDecoder.Step"/>.</summary>
/// <param name="Sequence">The sequence it belongs to.</param>
/// <param name="Token">The token, with the steps it ran, whether it exited early and its exit value.</param>
public readonly record struct TokenEvent(DecodeSequence Sequence, GeneratedToken Token);

/// <summary>
/// Generates many sequences at once with per-sequence, per-token depth. Each <see cref="Step"/> asks the
/// <see cref="DepthScheduler"/> for a plan, has the model runner start calls and run one batched recurrence over
/// every sequence that is iterating, whatever its depth, and then reads everything the host needs (exit values,
/// finite flags, sampled tokens of all batches) in one device-to-host read. A sequence whose token converges reads
/// out, samples, and starts its next token while the others keep iterating (depth-aware scheduling), so no
/// sequence waits for the slowest one's depth. With <c>depthAware: false</c> the decoder runs in lock step, as the
/// reference's batched generation does; it exists to measure the difference. Sequences never see each other's keys
/// (per-sequence caches and masks), so a batch gives the same tokens as running each sequence alone.
/// </summary>
/// <remarks>Not thread-safe: one thread (the engine's) owns a decoder, its model and its caches.</remarks>
public sealed class RecurrentDecoder : IDisposable
{
    private readonly RavenModel _model;
    private readonly DepthScheduler _scheduler;
    private readonly ModelRunner _runner;
    private readonly List<DecodeSequence> _sequences = [];
    private readonly Dictionary<SequenceSchedule, DecodeSequence> _bySchedule = [];
    private readonly bool _ownsPool;
    private int _nextId;

    /// <summary>Creates a decoder over <paramref name="model"/>.</summary>
    /// <param name="model">The loaded model; the decoder does not own it.</param>
    /// <param name="depthAware">Let converged sequences move on without waiting (default true).</param>
    /// <param name="pool">Where the sequences keep their keys and values; null gives the decoder a growing pool of its
    /// own. A caller's pool (e.g. the engine's bounded one) is not disposed with the decoder.</param>
    public RecurrentDecoder(RavenModel model, bool depthAware = true, KvBlockPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _scheduler = new DepthScheduler(depthAware);
        _runner = new ModelRunner(model);
        _ownsPool = pool is null;
        Pool = pool ?? new KvBlockPool(model.Config.NHeads, model.Config.HeadDim, model.DType, model.Device);
    }

    /// <summary>The key/value block pool every sequence of this decoder shares.</summary>
    public KvBlockPool Pool { get; }

    /// <summary>Sequences admitted and not yet removed (finished ones included until removed).</summary>
    public IReadOnlyList<DecodeSequence> Sequences => _sequences;

    /// <summary>Batched recurrence steps run so far (the unit depth-aware scheduling saves; one core call may run several, see <see cref="CoreCalls"/>).</summary>
    public long CoreBatches => _runner.CoreBatches;

    /// <summary>Core model calls run so far: a call runs several batched recurrences when the steps before the last only iterate.</summary>
    public long CoreCalls => _runner.CoreCalls;

    /// <summary>Prelude calls run so far: one per batch of rows that start a call together (prefill chunks or next tokens).</summary>
    public long PreludeCalls => _runner.PreludeCalls;

    /// <summary>Readout calls (coda and head) run so far: usually one per recurrence batch with a row that reads out.</summary>
    public long ReadoutCalls => _runner.ReadoutCalls;

    // Most recurrences per core call (tests compare against 1, one step per call).
    internal int MaxFusedSteps { get => _runner.MaxFusedSteps; set => _runner.MaxFusedSteps = value; }

    /// <summary>Recurrence steps summed over sequences (the compute actually needed).</summary>
    public long SequenceSteps => _runner.SequenceSteps;

    /// <summary>Device-to-host reads made so far: one per step that produced anything to read (plus recorded logits).</summary>
    public long HostReads { get; private set; }

    /// <summary>Steps run so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Whether any sequence still has work.</summary>
    public bool HasWork => _sequences.Any(s => s.Phase != SequencePhase.Finished);

    /// <summary>Test hook: runs before every batched recurrence with the batch's sequences (may throw).</summary>
    internal Action<IReadOnlyList<DecodeSequence>>? BeforeRecurrence { get => _runner.BeforeRecurrence; set => _runner.BeforeRecurrence = value; }

    /// <summary>Test hook: may overwrite the last-position logits (n, V) of a readout batch.</summary>
    internal Action<IReadOnlyList<DecodeSequence>, Tensor>? AfterReadout { get => _runner.AfterReadout; set => _runner.AfterReadout = value; }

    /// <summary>Test hook: may overwrite the logits (n, V) of the second-to-last states that fixed-depth rows read out beside their last.</summary>
    internal Action<IReadOnlyList<DecodeSequence>, Tensor>? AfterPriorReadout { get => _runner.AfterPriorReadout; set => _runner.AfterPriorReadout = value; }

    /// <summary>Prompt positions run through the model so far (a retried call counts again).</summary>
    public long PrefilledTokens { get; private set; }

    /// <summary>Admits a sequence; its prompt runs on the next <see cref="Step"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid or the prompt is longer than the context.</exception>
    public DecodeSequence Add(SequenceOptions options) => Add(options, null);

    /// <summary>
    /// Admits a sequence; its prompt runs on the next <see cref="Step"/>. With <paramref name="reusedCache"/> (the
    /// cache of a sequence that ran the prompt's first positions, e.g. the previous turn of a conversation) the
    /// sequence takes that cache over and prefills only the positions after it: the result is exactly that earlier
    /// sequence continued with the rest of the prompt (under this sequence's seed and depth).
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, the prompt is longer than the context, or the reused cache does not fit.</exception>
    public DecodeSequence Add(SequenceOptions options, SequenceKvCache? reusedCache)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (reusedCache is not null && (reusedCache.Length >= options.Prompt.Count || reusedCache.Strategy != options.Cache || !ReferenceEquals(reusedCache.Pool, Pool)))
        {
            throw new ArgumentException(
                $"A reused cache must hold fewer positions than the prompt ({reusedCache.Length} vs {options.Prompt.Count}), use the sequence's strategy ({reusedCache.Strategy} vs {options.Cache}) and live in this decoder's pool.",
                nameof(reusedCache));
        }

        int limit = ContextLimit(options);
        if (options.Prompt.Count >= limit)
        {
            throw new ArgumentException($"The prompt has {options.Prompt.Count} tokens; the context limit is {limit} (prompt plus at least one generated token).", "prompt");
        }

        foreach (int token in options.Prompt)
        {
            if (token < 0 || token >= _model.Config.VocabSize)
            {
                throw new ArgumentException($"Prompt token id {token} is outside the vocabulary [0, {_model.Config.VocabSize}).", "prompt");
            }
        }

        var cache = reusedCache ?? new SequenceKvCache(_model.Config, options.Cache, Pool);
        var sequence = new DecodeSequence(_nextId++, options, cache, new Generator((ulong)options.Seed, CPU));
        _sequences.Add(sequence);
        _bySchedule[sequence.Schedule] = sequence;
        return sequence;
    }

    /// <summary>Removes a sequence (finished or not) and frees its cache.</summary>
    public void Remove(DecodeSequence sequence) => Release(sequence, keepCache: false);

    /// <summary>
    /// Removes a sequence and, when <paramref name="keepCache"/> and it finished without error, hands its cache to
    /// the caller (who then owns it); otherwise frees the cache and returns null.
    /// </summary>
    public SequenceKvCache? Release(DecodeSequence sequence, bool keepCache)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        SequenceKvCache? kept = null;
        if (_sequences.Contains(sequence) && keepCache && sequence.Phase == SequencePhase.Finished && sequence.Error is null)
        {
            kept = sequence.DetachCache();
        }

        if (_sequences.Remove(sequence))
        {
            _bySchedule.Remove(sequence.Schedule);
            if (sequence.Phase != SequencePhase.Finished)
            {
                sequence.Schedule.Phase = SequencePhase.Finished;
                sequence.FinishReason = FinishReason.Cancelled;
            }

            sequence.Dispose();
        }

        return kept;
    }

    /// <summary>
    /// Advances every unfinished sequence by one batched recurrence step (starting new model calls first where a
    /// sequence needs one) and returns the tokens completed in this step.
    /// </summary>
    public IReadOnlyList<TokenEvent> Step()
    {
        // Inference mode, not only no_grad: libtorch then skips autograd dispatch and version counting on every op,
        // which is a large share of the per-op cost at small sizes (batch-1 decode about +25%, docs/performance.md).
        // Every tensor a step makes lives only in later steps, so none is ever needed by autograd.
        using var grad = inference_mode();
        var events = new List<TokenEvent>();
        var plan = _scheduler.Plan(_sequences.Select(s => s.Schedule).ToList());
        Steps++;
        foreach (var start in plan.Starts)
        {
            PrefilledTokens += start.Rows.Where(r => r.CallIndex == 0).Sum(r => r.PendingCount);
            Guarded(start.Rows.Select(r => _bySchedule[r]).ToList(), rows => _runner.StartCalls(rows, start.Cohort));
        }

        using var readback = new StepReadback();
        var works = new List<GroupWork>();
        foreach (var group in plan.Recurs)
        {
            var rows = group.Select(r => _bySchedule[r]).Where(s => s.Phase == SequencePhase.Recurring).ToList();
            if (rows.Count > 0)
            {
                Guarded(rows, r => works.Add(_runner.Recur(r, readback)));
            }
        }

        if (readback.HasParts)
        {
            try
            {
                HostReads++;
                readback.Read();
            }
            catch (Exception ex)
            {
                foreach (var work in works)
                {
                    Guarded(work.Rows.ToList(), _ => throw ex);
                }

                return events;
            }
        }

        foreach (var work in works)
        {
            for (int i = 0; i < work.Rows.Count; i++)
            {
                var row = work.Rows[i];
                try
                {
                    Apply(row, work, i, readback, events);
                }
                catch (Exception ex)
                {
                    row.ClearCall();
                    row.Fail(ex);
                }
            }
        }

        return events;
    }

    /// <summary>Runs <see cref="Step"/> until every sequence has finished.</summary>
    public void RunToCompletion()
    {
        while (HasWork)
        {
            Step();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var sequence in _sequences)
        {
            sequence.Dispose();
        }

        _sequences.Clear();
        _bySchedule.Clear();
        if (_ownsPool)
        {
            Pool.Dispose();
        }
    }

    // A failure inside a batch cannot be pinned on one sequence: every sequence of the batch rolls its call back and
    // retries it alone. A sequence that fails alone is failed; the others carry on as if nothing happened.
    private static void Guarded(List<DecodeSequence> rows, Action<List<DecodeSequence>> work)
    {
        try
        {
            work(rows);
        }
        catch (Exception ex)
        {
            foreach (var row in rows.Where(r => r.Phase != SequencePhase.Finished))
            {
                bool alone = rows.Count == 1 || row.Schedule.Isolated;
                row.RollBackCall();
                if (alone)
                {
                    row.Fail(ex);
                }
                else
                {
                    row.Schedule.Isolated = true;
                }
            }
        }
    }

    private int ContextLimit(SequenceOptions options) =>
        options.MaxContext > 0 ? Math.Min(options.MaxContext, _model.Config.BlockSize) : _model.Config.BlockSize;

    // The host half of a step for one row: turn the read values into an exit decision and, when the token is done,
    // record it.
    private void Apply(DecodeSequence row, GroupWork work, int i, StepReadback readback, List<TokenEvent> events)
    {
        if (row.Phase != SequencePhase.Recurring)
        {
            return;
        }

        var step = work.Steps[i];
        var schedule = row.Schedule;
        if (work.FiniteAt[i] >= 0 && readback[work.FiniteAt[i]] == 0 || work.PriorFiniteAt[i] >= 0 && readback[work.PriorFiniteAt[i]] == 0)
        {
            row.ClearCall();
            row.Fail(new InvalidOperationException(
                $"Model produced non-finite logits at token {row.Generated.Count} (recurrence step {schedule.Recurrence}) of this request; it was stopped and the engine keeps serving the others."));
            return;
        }

        bool exited = false;
        if (work.ValueAt[i] >= 0)
        {
            double value = CriterionValue(row, readback[work.ValueAt[i]]);
            row.CurrentExitValues.Add(value);
            exited = DepthScheduler.Exits(row.Options.Depth, value);
        }

        switch (DepthScheduler.Outcome(schedule, step, exited))
        {
            case StepOutcome.AwaitReadout:
                schedule.AwaitingReadout = true;
                return;
            case StepOutcome.Continue:
                return;
        }

        bool early = schedule.UsesCriterion ? exited || !step.Iterate : schedule.CallMaxSteps < row.Options.Depth.MaxSteps;
        double? exitValue = schedule.UsesCriterion
            ? row.CurrentExitValues.Count > 0 ? row.CurrentExitValues[^1] : null
            : work.KlAt[i] >= 0 ? readback[work.KlAt[i]] : null;
        Finish(row, (int)readback[work.TokenAt[i]], early, exitValue, events);
    }

    // Finishes in double precision what the device computed per row (see BatchExit), keeping the per-row memory.
    private static double CriterionValue(DecodeSequence row, float raw)
    {
        switch (row.Options.Depth.Criterion)
        {
            case ExitCriterion.Cosine:
                return 1 - raw;
            case ExitCriterion.EntropyDiff:
            {
                double value = Math.Abs(raw - row.PreviousEntropy);
                row.PreviousEntropy = raw;
                return value;
            }

            case ExitCriterion.ArgmaxStability:
            {
                long argmax = (long)raw;
                row.StableFor = argmax == row.PreviousArgmax ? row.StableFor + 1 : 0;
                row.PreviousArgmax = argmax;
                return row.StableFor;
            }

            default:
                return raw;
        }
    }

    private void Finish(DecodeSequence row, int token, bool exitedEarly, double? exitValue, List<TokenEvent> events)
    {
        var schedule = row.Schedule;
        if (row.Options.Depth.ContinuousCompute)
        {
            // Warm start from the post-ln_f latent of the last position, as the reference's generate_minimal does.
            row.WarmState?.Dispose();
            row.WarmState = _runner.WarmStart(row);
        }

        Tensor? logits = null;
        if (row.Options.RecordLogits && row.LastLogits is { } recorded)
        {
            row.LastLogits = null;
            logits = recorded;
            if (recorded.device_type != TorchSharp.DeviceType.CPU)
            {
                HostReads++;
                logits = recorded.cpu();
                recorded.Dispose();
            }
        }

        var generated = new GeneratedToken(token, schedule.Recurrence, exitedEarly, exitValue);
        row.Record(generated, logits);
        row.Constraint?.Accept(token);
        row.CallGeneratorState?.Dispose();
        row.CallGeneratorState = null;
        row.ClearCall();
        schedule.EndCall();
        events.Add(new TokenEvent(row, generated));

        if (row.Options.StopTokens.Contains(token))
        {
            schedule.Phase = SequencePhase.Finished;
            row.FinishReason = FinishReason.Stop;
        }
        else if (row.Generated.Count >= row.Options.MaxNewTokens || row.Tokens.Count >= ContextLimit(row.Options))
        {
            schedule.Phase = SequencePhase.Finished;
            row.FinishReason = FinishReason.Length;
        }
        else
        {
            row.PendingTokens = [token];
            schedule.Phase = SequencePhase.Pending;
        }
    }
}
