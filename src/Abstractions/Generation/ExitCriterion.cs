namespace RecurrentDepth.Generation;

/// <summary>
/// When a token may stop iterating the recurrent block before the step cap (reference
/// <c>generate_with_adaptive_compute</c> criteria).
/// </summary>
public enum ExitCriterion
{
    /// <summary>Never exit early: every token runs the maximum number of steps.</summary>
    None,

    /// <summary>KL(p_{k−1} ‖ p_k) of successive next-token distributions below the threshold (auto 1e-3; paper 5e-4).</summary>
    Kl,

    /// <summary>The same KL on min-p-filtered distributions (auto 1e-5).</summary>
    MinPKl,

    /// <summary>|H_k − H_{k−1}| of successive next-token entropies below the threshold (auto 1e-3).</summary>
    EntropyDiff,

    /// <summary>‖s_k − s_{k−1}‖ / ‖s_k‖ of successive latent states below the threshold (auto 0.03); no coda run.</summary>
    LatentDiff,

    /// <summary>1 − cos(s_k, s_{k−1}) of successive latent states below the threshold (auto 1e-3); no coda run.</summary>
    Cosine,

    /// <summary>The argmax token unchanged for at least threshold consecutive checks (auto 5).</summary>
    ArgmaxStability,
}

/// <summary>Names, defaults and parsing of <see cref="ExitCriterion"/>.</summary>
public static class ExitCriteria
{
    /// <summary>The reference's "auto" threshold for a criterion.</summary>
    public static double AutoThreshold(ExitCriterion criterion) => criterion switch
    {
        ExitCriterion.Kl => 1e-3,
        ExitCriterion.MinPKl => 1e-5,
        ExitCriterion.EntropyDiff => 1e-3,
        ExitCriterion.LatentDiff => 0.03,
        ExitCriterion.Cosine => 1e-3,
        ExitCriterion.ArgmaxStability => 5,
        _ => 0,
    };

    /// <summary>Whether the criterion reads next-token distributions (and so runs the coda at every check).</summary>
    public static bool UsesLogits(ExitCriterion criterion) =>
        criterion is ExitCriterion.Kl or ExitCriterion.MinPKl or ExitCriterion.EntropyDiff or ExitCriterion.ArgmaxStability;

    /// <summary>The reference's name: <c>none</c>, <c>kl</c>, <c>minp-kl</c>, <c>entropy-diff</c>, <c>latent-diff</c>, <c>cosine</c>, <c>argmax-stability</c>.</summary>
    public static string ToReferenceName(this ExitCriterion criterion) => criterion switch
    {
        ExitCriterion.None => "none",
        ExitCriterion.Kl => "kl",
        ExitCriterion.MinPKl => "minp-kl",
        ExitCriterion.EntropyDiff => "entropy-diff",
        ExitCriterion.LatentDiff => "latent-diff",
        ExitCriterion.Cosine => "cosine",
        ExitCriterion.ArgmaxStability => "argmax-stability",
        _ => throw new ArgumentOutOfRangeException(nameof(criterion)),
    };

    /// <summary>Parses a reference name (case-insensitive; <c>_</c> accepted for <c>-</c>).</summary>
    /// <exception cref="ArgumentException">The name is not a known criterion.</exception>
    public static ExitCriterion Parse(string name, string paramName = "exit_criterion")
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Trim().ToLowerInvariant().Replace('_', '-');
        foreach (var c in Enum.GetValues<ExitCriterion>())
        {
            if (c.ToReferenceName() == key)
            {
                return c;
            }
        }

        throw new ArgumentException(
            $"Exit criterion '{name}' is unknown; expected one of {string.Join(", ", Enum.GetValues<ExitCriterion>().Select(c => c.ToReferenceName()))}.", paramName);
    }
}
