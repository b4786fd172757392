using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// Exit-criterion values of many rows at once, on the device, with the reference's definitions: logit criteria look
/// at the last position only, latent criteria average over the row's real positions. Returns "raw" values for the
/// host to finish in double precision exactly as the per-row evaluator did: KL, min-p KL and latent-diff are final;
/// entropy-diff returns the entropy (the host takes the difference), cosine the mean cosine (the host takes 1 − it),
/// argmax-stability the argmax (the host counts how long it held).
/// </summary>
public static class BatchExit
{
    /// <summary>Raw values (k) fp32 of a logit criterion, and for the KL criteria the log-distributions (k, V) to remember.</summary>
    /// <param name="criterion">A criterion that reads logits.</param>
    /// <param name="last">Last-position logits (k, V), fp32.</param>
    /// <param name="previous">Each row's remembered log-distribution (1, V), or null for its first check (uniform).</param>
    public static (Tensor Values, Tensor? LogProbs) FromLogits(ExitCriterion criterion, Tensor last, IReadOnlyList<Tensor?> previous)
    {
        ArgumentNullException.ThrowIfNull(last);
        ArgumentNullException.ThrowIfNull(previous);
        using var scope = NewDisposeScope();
        long vocab = last.shape[1];
        switch (criterion)
        {
            case ExitCriterion.Kl:
            case ExitCriterion.MinPKl:
            {
                Tensor logProbs;
                if (criterion == ExitCriterion.Kl)
                {
                    logProbs = nn.functional.log_softmax(last, -1);
                }
                else
                {
                    var probs = nn.functional.softmax(last, -1);
                    var floor = probs.max(-1, keepdim: true).values * 0.1;
                    probs = where(probs < floor, full_like(probs, 1.0 / vocab), probs);
                    logProbs = (probs / probs.sum(-1, keepdim: true)).log();
                }

                var values = ExitDivergence.Kl(Previous(previous, logProbs), logProbs, (int)vocab);
                return (values.MoveToOuterDisposeScope(), logProbs.MoveToOuterDisposeScope());
            }

            case ExitCriterion.EntropyDiff:
            {
                var probs = nn.functional.softmax(last, -1);
                return ((-(probs * (probs + 1e-10).log()).sum(-1)).MoveToOuterDisposeScope(), null);
            }

            case ExitCriterion.ArgmaxStability:
                return (last.argmax(-1).to(ScalarType.Float32).MoveToOuterDisposeScope(), null);

            default:
                throw new ArgumentOutOfRangeException(nameof(criterion), criterion, "Not a logit criterion.");
        }
    }

    /// <summary>Raw values (k) fp32 of a latent criterion over states (k, L, h) right-padded to L; <paramref name="lengths"/> are the real lengths.</summary>
    public static Tensor FromLatents(ExitCriterion criterion, Tensor states, Tensor previous, IReadOnlyList<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(lengths);
        using var scope = NewDisposeScope();
        var perPosition = criterion switch
        {
            ExitCriterion.LatentDiff => (states - previous).norm(-1) / states.norm(-1),
            ExitCriterion.Cosine => (states * previous).sum(-1) / states.norm(-1) / previous.norm(-1),
            _ => throw new ArgumentOutOfRangeException(nameof(criterion), criterion, "Not a latent criterion."),
        };
        long padded = states.shape[1];
        if (lengths.All(n => n == padded))
        {
            return perPosition.mean([-1]).MoveToOuterDisposeScope();
        }

        // Padding positions may hold zero states (NaN ratios): select, do not multiply, before summing.
        var mask = arange(padded, device: states.device).unsqueeze(0) < tensor(lengths.Select(n => (long)n).ToArray(), device: states.device).unsqueeze(1);
        var sum = where(mask, perPosition, zeros_like(perPosition)).sum(-1);
        return (sum / tensor(lengths.Select(n => (float)n).ToArray(), device: states.device)).MoveToOuterDisposeScope();
    }

    private static Tensor Previous(IReadOnlyList<Tensor?> previous, Tensor like)
    {
        long vocab = like.shape[1];
        var rows = previous.Select(p => p ?? full([1, vocab], Math.Log(1.0 / vocab), like.dtype, like.device)).ToList();
        return cat(rows, 0);
    }
}
