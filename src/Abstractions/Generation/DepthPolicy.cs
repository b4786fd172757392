namespace RecurrentDepth.Generation;

/// <summary>
/// How much latent compute each token gets: the recurrence cap, an optional early-exit criterion, and warm start.
/// Validated once when built (<see cref="Validate"/>), immutable afterwards.
/// </summary>
public sealed record DepthPolicy
{
    /// <summary>Maximum recurrence steps per token (the reference's <c>num_steps</c>). Default 32.</summary>
    public int MaxSteps { get; init; } = 32;

    /// <summary>Steps run before the exit criterion is first checked. Default 0.</summary>
    public int MinSteps { get; init; }

    /// <summary>Early-exit criterion. Default <see cref="ExitCriterion.None"/> (fixed depth).</summary>
    public ExitCriterion Criterion { get; init; } = ExitCriterion.None;

    /// <summary>Threshold of the criterion; null means the reference's "auto" value for it.</summary>
    public double? Threshold { get; init; }

    /// <summary>Check the criterion every N steps after <see cref="MinSteps"/>. Default 1.</summary>
    public int CheckEvery { get; init; } = 1;

    /// <summary>Run the prompt (prefill) to <see cref="MaxSteps"/> regardless of the criterion. Default false.</summary>
    public bool NoExitInPrefill { get; init; }

    /// <summary>
    /// Warm start ("continuous compute"): each new token starts from the previous token's final latent (post-ln_f)
    /// instead of a fresh random state. Default false.
    /// </summary>
    public bool ContinuousCompute { get; init; }

    /// <summary>Std multiplier of the random initial state; 0 gives the deterministic zero state. Default 1.</summary>
    public double InitScale { get; init; } = 1.0;

    /// <summary>The threshold in force: <see cref="Threshold"/> or the criterion's auto value.</summary>
    public double EffectiveThreshold => Threshold ?? ExitCriteria.AutoThreshold(Criterion);

    /// <summary>Fixed depth of <paramref name="steps"/> steps, no early exit.</summary>
    public static DepthPolicy Fixed(int steps) => new DepthPolicy { MaxSteps = steps }.Validate();

    /// <summary>Checks every field and throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    /// <returns>This instance.</returns>
    public DepthPolicy Validate()
    {
        if (MaxSteps < 1)
        {
            throw new ArgumentOutOfRangeException("max_steps", MaxSteps, "Recurrence steps (max_steps) must be at least 1.");
        }

        if (MinSteps < 0 || MinSteps > MaxSteps)
        {
            throw new ArgumentOutOfRangeException("min_steps", MinSteps, $"min_steps must be between 0 and max_steps ({MaxSteps}).");
        }

        if (CheckEvery < 1)
        {
            throw new ArgumentOutOfRangeException("check_every", CheckEvery, "check_every must be at least 1.");
        }

        if (Threshold is double t && (t < 0 || !double.IsFinite(t)))
        {
            throw new ArgumentOutOfRangeException("exit_threshold", t, "exit_threshold must be a finite, non-negative number.");
        }

        if (!Enum.IsDefined(Criterion))
        {
            throw new ArgumentOutOfRangeException("exit_criterion", Criterion, "Unknown exit criterion.");
        }

        if (InitScale < 0 || !double.IsFinite(InitScale))
        {
            throw new ArgumentOutOfRangeException("init_scale", InitScale, "init_scale must be a finite, non-negative number.");
        }

        return this;
    }
}
