using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// The KL exit's divergence, the one formula generation's exit criteria (<c>kl</c>, <c>minp-kl</c>) and the effort
/// evaluator use: KL(p_prev ‖ p_cur) = Σ p_prev · (log p_prev − log p_cur) over the last dimension, as the reference's
/// <c>F.kl_div(log_probs, prev_log_probs, reduction="none", log_target=True).sum(-1)</c>. Before the first step p_prev
/// is uniform.
/// </summary>
public static class ExitDivergence
{
    /// <summary>KL(p_prev ‖ p_cur) per row: the last dimension summed away.</summary>
    /// <param name="previousLogProbs">log p of the previous step; null before the first step (uniform then).</param>
    /// <param name="logProbs">log p of this step (…, vocab).</param>
    /// <param name="vocabSize">Size of the uniform distribution that stands in for the missing previous step.</param>
    public static Tensor Kl(Tensor? previousLogProbs, Tensor logProbs, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        using var scope = NewDisposeScope();
        var previous = previousLogProbs ?? full_like(logProbs, Math.Log(1.0 / vocabSize));
        return (previous.exp() * (previous - logProbs)).sum(-1).MoveToOuterDisposeScope();
    }
}
