using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// Chooses the next token from fp32 logits in the reference's order: repetition penalty → temperature → softmax →
/// top-k → top-p → min-p → renormalise → multinomial draw from the request's own generator. Temperature 0 is argmax.
/// </summary>
public static class TokenSampler
{
    /// <summary>Picks a token id.</summary>
    /// <param name="logits">Next-token logits (vocab), fp32.</param>
    /// <param name="options">Validated sampling options.</param>
    /// <param name="history">Tokens so far (prompt and generated), for the repetition penalty.</param>
    /// <param name="generator">The request's generator; draws are reproducible for a seed.</param>
    public static int Sample(Tensor logits, SamplingOptions options, IReadOnlyList<int> history, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(history);
        using var scope = NewDisposeScope();
        var scores = logits.to(ScalarType.Float32).flatten().cpu();
        if (options.RepetitionPenalty != 1.0 && history.Count > 0)
        {
            // Seen tokens: positive logits are divided by the penalty, negative ones multiplied (HF semantics).
            var seen = tensor(history.Distinct().Select(t => (long)t).ToArray());
            var picked = scores.index_select(0, seen);
            var penalised = where(picked > 0, picked / options.RepetitionPenalty, picked * options.RepetitionPenalty);
            scores = scores.clone().index_put_(penalised, [seen]);
        }

        if (options.IsGreedy)
        {
            return (int)scores.argmax().item<long>();
        }

        var probs = nn.functional.softmax(scores / options.Temperature, 0);
        if (options.TopK > 0 && options.TopK < probs.shape[0])
        {
            var kth = probs.topk(options.TopK).values[-1];
            probs = where(probs < kth, zeros_like(probs), probs);
        }

        if (options.TopP < 1.0)
        {
            var (sorted, order) = probs.sort(descending: true);
            // Drop a token only if the more probable ones before it already reach p: the token that crosses p is
            // kept (HF semantics), and so is the most probable one.
            var remove = (sorted.cumsum(0) - sorted) >= options.TopP;
            var removeAtToken = zeros_like(remove).index_put_(remove, [order]);
            probs = where(removeAtToken, zeros_like(probs), probs);
        }

        if (options.MinP > 0)
        {
            probs = where(probs < probs.max() * options.MinP, zeros_like(probs), probs);
        }

        probs = probs / probs.sum().clamp_min(1e-10);
        return (int)multinomial(probs, 1, generator: generator).item<long>();
    }
}
