using RecurrentDepth.Generation;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// The latent compute one <see cref="ThinkingEffort"/> stands for: a recurrence cap, an optional early-exit criterion
/// with its threshold, and a floor of steps. Turned into the engine's <see cref="DepthPolicy"/> by
/// <see cref="ToDepthPolicy"/>.
/// </summary>
public sealed record EffortProfile
{
    /// <summary>Most recurrence steps per token (≥ 1). Default 32.</summary>
    public int MaxSteps { get; init; } = 32;

    /// <summary>Early-exit criterion; <see cref="ExitCriterion.None"/> (default) runs every token to <see cref="MaxSteps"/>.</summary>
    public ExitCriterion Criterion { get; init; } = ExitCriterion.None;

    /// <summary>Threshold of <see cref="Criterion"/>; null uses the criterion's reference "auto" value.</summary>
    public double? Threshold { get; init; }

    /// <summary>Steps every token runs before the criterion is first checked (0 ≤ MinSteps ≤ MaxSteps). Default 0.</summary>
    public int MinSteps { get; init; }

    /// <summary>The engine policy for this profile (no warm start).</summary>
    /// <exception cref="ArgumentException">A field is out of range (the message names it).</exception>
    public DepthPolicy ToDepthPolicy() =>
        new DepthPolicy { MaxSteps = MaxSteps, MinSteps = MinSteps, Criterion = Criterion, Threshold = Threshold }.Validate();

    /// <summary>A fixed-depth profile of <paramref name="steps"/> steps.</summary>
    public static EffortProfile Fixed(int steps) => new() { MaxSteps = steps };

    /// <summary>A KL early-exit profile: up to <paramref name="maxSteps"/>, exit when KL &lt; <paramref name="threshold"/>.</summary>
    public static EffortProfile KlExit(int maxSteps, double threshold, int minSteps = 0) =>
        new() { MaxSteps = maxSteps, Criterion = ExitCriterion.Kl, Threshold = threshold, MinSteps = minSteps };
}
