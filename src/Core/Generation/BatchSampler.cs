using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// Chooses the next token of many rows at once from fp32 logits (n, V), each row with its own settings, in the
/// reference's order: repetition penalty → allowed-token mask → temperature → softmax → top-k → top-p → min-p →
/// renormalise → draw. Temperature 0 is argmax. The draw inverts the filtered distribution's CDF at a uniform number
/// the row drew from its own generator, so a batch gives every row exactly what it gets alone, and the whole batch
/// stays on the device (no host read here).
/// </summary>
public static class BatchSampler
{
    /// <summary>Samples one token per row; returns (n) int64 ids on the logits' device.</summary>
    /// <param name="logits">Next-token logits (n, V), fp32.</param>
    /// <param name="options">Validated sampling options per row.</param>
    /// <param name="histories">Tokens so far per row (prompt and generated), for the repetition penalty.</param>
    /// <param name="uniforms">A uniform draw in [0, 1) per row (ignored for greedy rows).</param>
    /// <param name="allowed">Per row, the allowed-token bitmask (<see cref="Constraints.ITokenConstraint.WriteAllowed"/>) or null for no constraint.</param>
    public static Tensor Sample(Tensor logits, IReadOnlyList<SamplingOptions> options, IReadOnlyList<IReadOnlyList<int>> histories,
        IReadOnlyList<double> uniforms, IReadOnlyList<ulong[]?>? allowed = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(histories);
        ArgumentNullException.ThrowIfNull(uniforms);
        int n = (int)logits.shape[0];
        long vocab = logits.shape[1];
        using var scope = NewDisposeScope();
        var device = logits.device;
        var scores = logits.to(ScalarType.Float32);
        if (Enumerable.Range(0, n).Any(r => options[r].RepetitionPenalty != 1.0 && histories[r].Count > 0))
        {
            scores = scores.clone();
            for (int r = 0; r < n; r++)
            {
                if (options[r].RepetitionPenalty == 1.0 || histories[r].Count == 0)
                {
                    continue;
                }

                // Seen tokens: positive logits are divided by the penalty, negative ones multiplied (HF semantics).
                double penalty = options[r].RepetitionPenalty;
                var seen = tensor(histories[r].Distinct().Select(t => (long)t).ToArray(), device: device);
                var row = scores.select(0, r);
                var picked = row.index_select(0, seen);
                row.index_put_(where(picked > 0, picked / penalty, picked * penalty), seen);
            }
        }

        if (allowed is not null && allowed.Any(a => a is not null))
        {
            scores = scores.masked_fill(AllowedMask(allowed, n, vocab, device).logical_not(), float.NegativeInfinity);
        }

        var greedy = Enumerable.Range(0, n).Where(r => options[r].IsGreedy).Select(r => (long)r).ToArray();
        if (greedy.Length == n)
        {
            return scores.argmax(-1).MoveToOuterDisposeScope(); // the common case in one call
        }

        var result = zeros(n, ScalarType.Int64, device);
        var sampled = Enumerable.Range(0, n).Where(r => !options[r].IsGreedy).ToArray();
        if (greedy.Length > 0)
        {
            var index = tensor(greedy, device: device);
            result.index_copy_(0, index, scores.index_select(0, index).argmax(-1));
        }

        if (sampled.Length > 0)
        {
            var index = tensor(sampled.Select(r => (long)r).ToArray(), device: device);
            result.index_copy_(0, index, Draw(scores.index_select(0, index), sampled.Select(r => options[r]).ToList(), sampled.Select(r => uniforms[r]).ToArray()));
        }

        return result.MoveToOuterDisposeScope();
    }

    private static Tensor Draw(Tensor scores, List<SamplingOptions> options, double[] uniforms)
    {
        int m = options.Count;
        long vocab = scores.shape[1];
        var device = scores.device;
        var temperatures = Column(options.Select(o => (float)o.Temperature), device);
        var probs = nn.functional.softmax(scores / temperatures, -1);
        if (options.Any(o => o.TopK > 0 && o.TopK < vocab))
        {
            // The k-th largest probability per row; rows without top-k use the smallest, which removes nothing.
            var k = tensor(options.Select(o => o.TopK > 0 && o.TopK < vocab ? o.TopK - 1L : vocab - 1).ToArray(), device: device).view(m, 1);
            var kth = probs.sort(-1, descending: true).Values.gather(1, k);
            probs = where(probs < kth, zeros_like(probs), probs);
        }

        if (options.Any(o => o.TopP < 1.0))
        {
            var (sorted, order) = probs.sort(-1, descending: true);
            // Drop a token only if the more probable ones before it already reach p: the token that crosses p is
            // kept (HF semantics), and so is the most probable one. Rows without top-p use p = 2 (nothing dropped).
            var p = Column(options.Select(o => o.TopP < 1.0 ? (float)o.TopP : 2f), device);
            var remove = (sorted.cumsum(-1) - sorted) >= p;
            var removeAtToken = zeros_like(remove).scatter(1, order, remove);
            probs = where(removeAtToken, zeros_like(probs), probs);
        }

        if (options.Any(o => o.MinP > 0))
        {
            var minP = Column(options.Select(o => (float)o.MinP), device);
            probs = where(probs < probs.max(-1, keepdim: true).values * minP, zeros_like(probs), probs);
        }

        probs = probs / probs.sum(-1, keepdim: true).clamp_min(1e-10);
        // Inverse CDF: the first token whose cumulative probability exceeds u · total (zero-probability tokens never
        // qualify, since their cumulative value equals their predecessor's).
        var cdf = probs.cumsum(-1);
        var u = Column(uniforms.Select(x => (float)x), device) * cdf.narrow(1, vocab - 1, 1);
        return searchsorted(cdf, u, right: true).clamp_max(vocab - 1).view(m);
    }

    private static Tensor Column(IEnumerable<float> values, Device device)
    {
        var array = values.ToArray();
        return tensor(array, device: device).view(array.Length, 1);
    }

    // One host-to-device copy for all rows: unconstrained rows allow everything.
    private static Tensor AllowedMask(IReadOnlyList<ulong[]?> allowed, int n, long vocab, Device device)
    {
        var bits = new bool[n * vocab];
        for (int r = 0; r < n; r++)
        {
            var words = allowed[r];
            for (long t = 0; t < vocab; t++)
            {
                bits[r * vocab + t] = words is null || (words[t >> 6] >> (int)(t & 63) & 1UL) != 0;
            }
        }

        return tensor(bits, [n, vocab], device: device);
    }
}
