using RecurrentDepth.Caching;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>A token the decoder produced in a <see cref="RecurrentDecoder.Step"/>.</summary>
/// <param name="Sequence">The sequence it belongs to.</param>
/// <param name="TokenId">Vocabulary id.</param>
/// <param name="Steps">Recurrence steps the call ran.</param>
/// <param name="ExitedEarly">Whether the criterion (or schedule) ended the call before the cap.</param>
public readonly record struct TokenEvent(DecodeSequence Sequence, int TokenId, int Steps, bool ExitedEarly);

/// <summary>
/// Generates many sequences at once with per-sequence, per-token depth. Each <see cref="Step"/> runs one batched
/// recurrence over every sequence that is iterating, whatever its depth: a sequence whose token converges reads
/// out, samples, and starts its next token while the others keep iterating (depth-aware scheduling), so no
/// sequence waits for the slowest one's depth. With <c>depthAware: false</c> the decoder runs in lock step (all
/// sequences start each token together), which is what the reference's batched generation does; it exists to
/// measure the difference. Prompts admitted together share one right-padded batch with per-row positions and a
/// padding mask; sequences never see each other's keys (per-sequence caches and masks), so a batch gives the same
/// tokens as running each sequence alone.
/// </summary>
/// <remarks>Not thread-safe: one thread (the engine's) owns a decoder, its model and its caches.</remarks>
public sealed class RecurrentDecoder : IDisposable
{
    private readonly RavenModel _model;
    private readonly bool _depthAware;
    private readonly List<DecodeSequence> _sequences = [];
    private int _nextId;
    private int _nextCohort;

    /// <summary>Creates a decoder over <paramref name="model"/>.</summary>
    /// <param name="model">The loaded model; the decoder does not own it.</param>
    /// <param name="depthAware">Let converged sequences move on without waiting (default true).</param>
    public RecurrentDecoder(RavenModel model, bool depthAware = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _depthAware = depthAware;
    }

    /// <summary>Sequences admitted and not yet removed (finished ones included until removed).</summary>
    public IReadOnlyList<DecodeSequence> Sequences => _sequences;

    /// <summary>Batched recurrence-step calls made so far (the unit depth-aware scheduling saves).</summary>
    public long CoreBatches { get; private set; }

    /// <summary>Recurrence steps summed over sequences (the compute actually needed).</summary>
    public long SequenceSteps { get; private set; }

    /// <summary>Whether any sequence still has work.</summary>
    public bool HasWork => _sequences.Any(s => s.Phase != SequencePhase.Finished);

    /// <summary>Admits a sequence; its prompt runs on the next <see cref="Step"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid or the prompt is longer than the context.</exception>
    public DecodeSequence Add(SequenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
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

        var cache = new SequenceKvCache(_model.Config, options.Cache, _model.DType, _model.Device);
        var sequence = new DecodeSequence(_nextId++, options, cache, new Generator((ulong)options.Seed, CPU));
        _sequences.Add(sequence);
        return sequence;
    }

    /// <summary>Removes a sequence (finished or not) and frees its cache.</summary>
    public void Remove(DecodeSequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (_sequences.Remove(sequence))
        {
            if (sequence.Phase != SequencePhase.Finished)
            {
                sequence.Phase = SequencePhase.Finished;
                sequence.FinishReason = SequenceFinish.Cancelled;
            }

            sequence.Dispose();
        }
    }

    /// <summary>
    /// Advances every unfinished sequence by one batched recurrence step (starting new model calls first where a
    /// sequence needs one) and returns the tokens completed in this step.
    /// </summary>
    public IReadOnlyList<TokenEvent> Step()
    {
        using var grad = no_grad();
        var events = new List<TokenEvent>();
        bool anyRecurring = _sequences.Any(s => s.Phase == SequencePhase.Recurring);
        if (_depthAware || !anyRecurring)
        {
            var pending = _sequences.Where(s => s.Phase == SequencePhase.Pending).ToList();
            foreach (var group in pending.GroupBy(s => (Alone: s.Isolated ? s.Id : -1, Decode: s.PendingTokens.Count == 1)))
            {
                Guarded(group.ToList(), rows => StartCalls(rows));
            }
        }

        var recurring = _sequences.Where(s => s.Phase == SequencePhase.Recurring).ToList();
        // Single-token decode calls share one batch; prompts that started together share another (right-padded).
        foreach (var group in recurring.GroupBy(s => (Alone: s.Isolated ? s.Id : -1, s.Cohort)))
        {
            Guarded(group.ToList(), rows => RecurOnce(rows, events));
        }

        return events;
    }

    /// <summary>Test hook: runs before every batched recurrence with the batch's sequences (may throw).</summary>
    internal Action<IReadOnlyList<DecodeSequence>>? BeforeRecurrence { get; set; }

    // A failure inside a batch cannot be pinned on one sequence: every sequence of the batch rolls its call back and
    // retries it alone. A sequence that fails alone is finished as Faulted; the others carry on as if nothing happened.
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
                row.RollBackCall();
                if (rows.Count == 1 || row.Isolated)
                {
                    row.Phase = SequencePhase.Finished;
                    row.FinishReason = SequenceFinish.Faulted;
                    row.Error = ex;
                }
                else
                {
                    row.Isolated = true;
                }
            }
        }
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
    }

    private int ContextLimit(SequenceOptions options) =>
        options.MaxContext > 0 ? Math.Min(options.MaxContext, _model.Config.BlockSize) : _model.Config.BlockSize;

    private void StartCalls(List<DecodeSequence> rows)
    {
        int cohort = rows.All(r => r.PendingTokens.Count == 1) && !rows[0].Isolated ? -1 : _nextCohort++;
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
            row.Cohort = cohort;
        }

        // Right padding repeats each row's last token; padded positions are masked out and never stored.
        var ids = tensor(
            rows.SelectMany(r => Enumerable.Range(0, padded).Select(i => (long)r.PendingTokens[Math.Min(i, r.CallLength - 1)])).ToArray(),
            [rows.Count, padded],
            device: _model.Device);
        var positions = Positions(rows, padded, afterAppend: false);
        var store = new BatchAttentionStore(rows.Select(r => r.Cache).ToList(), rows.Select(r => r.CallLength).ToList());
        var embedded = _model.RunPrelude(_model.Embed(ids), _model.CreateContext(positions, store));
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            row.Embedded = embedded.narrow(0, r, 1).clone().DetachFromDisposeScope();
            var initial = InitialStateFor(row, row.CallLength);
            row.Recurrence = 0;
            row.CallMaxSteps = row.Options.StepSchedule?.Invoke(row.CallIndex) ?? row.Options.Depth.MaxSteps;
            row.Evaluator = row.Options.StepSchedule is null && row.Options.Depth.Criterion != ExitCriterion.None
                ? new ExitEvaluator(row.Options.Depth.Criterion, row.Options.Depth.EffectiveThreshold, _model.Config.VocabSize, initial)
                : null;
            row.State = (padded > row.CallLength
                ? cat([initial, zeros([1, padded - row.CallLength, _model.Config.NEmbd], _model.DType, _model.Device)], 1)
                : initial).DetachFromDisposeScope();
            row.CurrentExitValues = [];
            row.Phase = SequencePhase.Recurring;
        }
    }

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
            if (!given.shape.SequenceEqual(new long[] { 1, count, _model.Config.NEmbd }))
            {
                throw new InvalidOperationException($"The initial-state provider returned shape [{string.Join(", ", given.shape)}] for {count} positions; expected [1, {count}, {_model.Config.NEmbd}].");
            }

            return given.to(_model.DType, _model.Device);
        }

        return InitialState.Sample(_model.Config, [1, count, _model.Config.NEmbd], row.Options.Depth.InitScale, row.Generator, _model.DType, _model.Device);
    }

    // Positions of each row's tokens in this call, (B, padded): before the prelude appends, the new tokens start at
    // the cache length; afterwards they end there. Padding repeats the row's last position.
    private static Tensor Positions(List<DecodeSequence> rows, int padded, bool afterAppend)
    {
        var values = new long[rows.Count * padded];
        for (int r = 0; r < rows.Count; r++)
        {
            int count = rows[r].CallLength;
            int first = afterAppend ? rows[r].Cache.Length - count : rows[r].Cache.Length;
            for (int s = 0; s < padded; s++)
            {
                values[r * padded + s] = first + Math.Min(s, count - 1);
            }
        }

        return tensor(values, [rows.Count, padded]);
    }

    private void RecurOnce(List<DecodeSequence> rows, List<TokenEvent> events)
    {
        using var scope = NewDisposeScope();
        int length = (int)rows[0].Embedded!.shape[1];
        var caches = rows.Select(r => r.Cache).ToList();
        var lengths = rows.Select(r => r.CallLength).ToList();
        var positions = Positions(rows, length, afterAppend: true);
        var store = new BatchAttentionStore(caches, lengths, rows.Select(r => r.Recurrence).ToList());
        var context = _model.CreateContext(positions, store);
        BeforeRecurrence?.Invoke(rows);
        var next = _model.Iterate(cat(rows.Select(r => r.State!).ToList(), 0), cat(rows.Select(r => r.Embedded!).ToList(), 0), 0, context);
        CoreBatches++;
        SequenceSteps += rows.Count;

        var finishing = new List<(int Row, bool Early)>();
        var checking = new List<int>();
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            row.State!.Dispose();
            row.State = next.narrow(0, r, 1).clone().DetachFromDisposeScope();
            int stepsDone = ++row.Recurrence;
            if (row.Options.StepSchedule is not null)
            {
                if (stepsDone >= row.CallMaxSteps)
                {
                    finishing.Add((r, row.CallMaxSteps < row.Options.Depth.MaxSteps));
                }

                continue;
            }

            if (row.Evaluator is not null && ShouldCheck(row, stepsDone - 1))
            {
                checking.Add(r);
            }
            else if (stepsDone >= row.CallMaxSteps)
            {
                finishing.Add((r, false));
            }
        }

        var logits = new Dictionary<int, Tensor>();
        var logitRows = checking.Where(r => rows[r].Evaluator!.NeedsLogits).ToList();
        if (logitRows.Count > 0)
        {
            var readout = Readout(rows, logitRows, length);
            for (int i = 0; i < logitRows.Count; i++)
            {
                logits[logitRows[i]] = readout.narrow(0, i, 1);
            }
        }

        foreach (int r in checking)
        {
            var row = rows[r];
            var (exit, value) = row.Evaluator!.Check(row.State!.narrow(1, 0, row.CallLength), logits.GetValueOrDefault(r)?.narrow(1, 0, row.CallLength));
            row.CurrentExitValues!.Add(value);
            if (exit || row.Recurrence >= row.CallMaxSteps)
            {
                finishing.Add((r, exit));
            }
        }

        var needReadout = finishing.Select(f => f.Row).Where(r => !logits.ContainsKey(r)).ToList();
        if (needReadout.Count > 0)
        {
            var readout = Readout(rows, needReadout, length);
            for (int i = 0; i < needReadout.Count; i++)
            {
                logits[needReadout[i]] = readout.narrow(0, i, 1);
            }
        }

        foreach (var (r, early) in finishing.OrderBy(f => f.Row))
        {
            Finish(rows[r], logits[r], early, events);
        }
    }

    private bool ShouldCheck(DecodeSequence row, int step)
    {
        var depth = row.Options.Depth;
        return step >= depth.MinSteps
            && (step - depth.MinSteps) % depth.CheckEvery == 0
            && !(depth.NoExitInPrefill && row.CallIndex == 0);
    }

    // ln_f → coda → ln_f → head for a subset of rows; returns (n, S, vocab) fp32 logits.
    private Tensor Readout(List<DecodeSequence> rows, List<int> subset, int length)
    {
        var chosen = subset.Select(r => rows[r]).ToList();
        var store = new BatchAttentionStore(chosen.Select(r => r.Cache).ToList(), chosen.Select(r => r.CallLength).ToList());
        var context = _model.CreateContext(Positions(chosen, length, afterAppend: true), store);
        var latent = _model.NormalizeLatent(cat(chosen.Select(r => r.State!).ToList(), 0));
        return _model.Readout(latent, context);
    }

    private void Finish(DecodeSequence row, Tensor logits, bool exitedEarly, List<TokenEvent> events)
    {
        var last = logits[0, row.CallLength - 1];
        int steps = row.Recurrence;
        int token = TokenSampler.Sample(last, row.Options.Sampling, row.Tokens, row.Generator);
        if (row.Options.Depth.ContinuousCompute)
        {
            // Warm start from the post-ln_f latent of the last position, as the reference's generate_minimal does.
            row.WarmState?.Dispose();
            row.WarmState = _model.NormalizeLatent(row.State!.narrow(1, row.CallLength - 1, 1)).DetachFromDisposeScope();
        }

        row.Record(token, steps, exitedEarly, row.Options.RecordLogits ? last.clone().cpu().DetachFromDisposeScope() : null);
        row.CallGeneratorState?.Dispose();
        row.CallGeneratorState = null;
        row.ClearCall();
        row.CallIndex++;
        row.Isolated = false;
        events.Add(new TokenEvent(row, token, steps, exitedEarly));

        if (row.Options.StopTokens.Contains(token))
        {
            row.Phase = SequencePhase.Finished;
            row.FinishReason = SequenceFinish.Stop;
        }
        else if (row.Generated.Count >= row.Options.MaxNewTokens || row.Tokens.Count >= ContextLimit(row.Options))
        {
            row.Phase = SequencePhase.Finished;
            row.FinishReason = SequenceFinish.Length;
        }
        else
        {
            row.PendingTokens = [token];
            row.Phase = SequencePhase.Pending;
        }
    }
}
