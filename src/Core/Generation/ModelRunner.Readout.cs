using RecurrentDepth.Caching;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

// The readout half of a recurrence batch: one readout call for the rows that need logits (with the second-to-last
// states of rows measuring their KL beside them), then their finite flags, exit values, KL and sampled tokens as batch
// tensors queued for the step's host read.
internal sealed partial class ModelRunner
{
    private void ReadOut(IReadOnlyList<DecodeSequence> rows, RowStep[] steps, List<int> reading, StepReadback readback,
        int[] valueAt, int[] finiteAt, int[] priorFiniteAt, int[] klAt, int[] tokenAt)
    {
        var chosen = reading.Select(i => rows[i]).ToList();
        int n = chosen.Count;

        // Rows measuring the KL of their last two steps read the second-to-last state out in the same call, as what-if
        // rows (their keys and values go to the pool's scratch entries, so the last state's stay). Beyond the scratch
        // entries, the rest read it out in a call of their own first: the final readout then overwrites what it stored.
        var pairing = reading.Where(i => steps[i].PairPrior).ToList();
        var shadowed = pairing.Take(KvBlockPool.ScratchEntries).Select(i => rows[i]).ToList();
        var apart = pairing.Skip(KvBlockPool.ScratchEntries).Select(i => rows[i]).ToList();
        var apartLogits = apart.Count > 0 ? ReadoutOf(apart, apart.Select(r => r.PriorState!).ToList(), shadows: null) : null;
        var all = ReadoutOf([.. chosen, .. shadowed], [.. chosen.Select(r => r.State!), .. shadowed.Select(r => r.PriorState!)],
            shadowed.Count > 0 ? [.. Enumerable.Repeat(false, n), .. Enumerable.Repeat(true, shadowed.Count)] : null);
        if (apartLogits is not null)
        {
            all = cat([all, apartLogits], 0);
        }

        foreach (int i in pairing)
        {
            rows[i].PriorState!.Dispose();
            rows[i].PriorState = null;
        }

        // Only each row's last position is read out: the head runs on (n, h), not on every position of the call.
        var last = pairing.Count > 0 ? all.narrow(0, 0, n) : all;
        AfterReadout?.Invoke(chosen, last);
        if (pairing.Count > 0)
        {
            AfterPriorReadout?.Invoke(pairing.Select(i => rows[i]).ToList(), all.narrow(0, n, pairing.Count));
        }

        // Every readout row's flag, the second-to-last states' after the rows' own (the host combines each pair).
        int finite = readback.Add(isfinite(all).all(-1));
        for (int j = 0; j < reading.Count; j++)
        {
            finiteAt[reading[j]] = finite + j;
        }

        for (int k = 0; k < pairing.Count; k++)
        {
            priorFiniteAt[pairing[k]] = finite + n + k;
        }

        // The logits of some of the reading rows; all of them (the common case) without a copy.
        Tensor Rows(List<int> members) => members.SequenceEqual(reading)
            ? last
            : last.index_select(0, tensor(members.Select(i => (long)reading.IndexOf(i)).ToArray(), device: last.device));

        foreach (var group in reading.Where(i => steps[i].Check).GroupBy(i => rows[i].Options.Depth.Criterion))
        {
            var members = group.ToList();
            var (values, logProbs) = BatchExit.FromLogits(group.Key, Rows(members), members.Select(i => rows[i].PreviousLogProbs).ToList());
            int offset = readback.Add(values);
            for (int j = 0; j < members.Count; j++)
            {
                valueAt[members[j]] = offset + j;
                if (logProbs is not null)
                {
                    Remember(rows[members[j]], logProbs.narrow(0, j, 1));
                }
            }
        }

        var measured = reading.Where(i => steps[i].MeasureKl && (steps[i].PairPrior || rows[i].PreviousLogProbs is not null)).ToList();
        if (measured.Count > 0)
        {
            var current = nn.functional.log_softmax(Rows(measured), -1);
            var priors = pairing.Count > 0 ? nn.functional.log_softmax(all.narrow(0, n, pairing.Count), -1) : null;
            var previous = measured.SequenceEqual(pairing)
                ? priors!
                : cat(measured.Select(i => steps[i].PairPrior ? priors!.narrow(0, pairing.IndexOf(i), 1) : rows[i].PreviousLogProbs!).ToList(), 0);
            var kl = ExitDivergence.Kl(previous, current, (int)current.shape[1]);
            int offset = readback.Add(kl);
            for (int j = 0; j < measured.Count; j++)
            {
                klAt[measured[j]] = offset + j;
            }
        }

        var remembered = reading.Where(i => steps[i].Prior).ToList();
        if (remembered.Count > 0)
        {
            var logProbs = nn.functional.log_softmax(Rows(remembered), -1);
            for (int j = 0; j < remembered.Count; j++)
            {
                Remember(rows[remembered[j]], logProbs.narrow(0, j, 1));
            }
        }

        var sampling = reading.Where(i => steps[i].Sample).ToList();
        if (sampling.Count > 0)
        {
            var sample = sampling.Select(i => rows[i]).ToList();
            var tokens = BatchSampler.Sample(Rows(sampling), sample.Select(r => r.Options.Sampling).ToList(), sample.Select(r => r.Tokens).ToList(),
                sample.Select(r => r.Uniform).ToList(), sample.Select(r => r.AllowedWords).ToList());
            int offset = readback.Add(tokens);
            for (int j = 0; j < sampling.Count; j++)
            {
                tokenAt[sampling[j]] = offset + j;
                if (sample[j].Options.RecordLogits)
                {
                    sample[j].LastLogits?.Dispose();
                    sample[j].LastLogits = last[reading.IndexOf(sampling[j])].clone().DetachFromDisposeScope();
                }
            }
        }
    }

    // One readout call over rows' caches: states[r] read out at each row's last position of the call, (n, vocab).
    private Tensor ReadoutOf(IReadOnlyList<DecodeSequence> rows, IReadOnlyList<Tensor> states, IReadOnlyList<bool>? shadows)
    {
        using var store = new BatchAttentionStore(rows.Select(r => r.Cache).ToList(), rows.Select(r => r.CallLength).ToList(), shadows: shadows);
        var context = new AttentionContext(Batch(rows, r => r.CallRotation!), store);
        var batch = states.Count == 1 ? states[0] : cat(states.ToList(), 0);
        ReadoutCalls++;
        return model.ReadoutAt(batch, rows.Select(r => (long)r.CallLength - 1).ToArray(), context);
    }

    private static void Remember(DecodeSequence row, Tensor logProbs)
    {
        row.PreviousLogProbs?.Dispose();
        row.PreviousLogProbs = logProbs.clone().DetachFromDisposeScope();
    }
}
