namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// The profile of each <see cref="ThinkingEffort"/>. The defaults are the design table; override any of them through
/// <see cref="RecurrentDepthOptions.EffortProfiles"/> (configuration <c>RecurrentDepth:EffortProfiles:High:MaxSteps</c>, ...).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>effort</term><description>default</description></listheader>
/// <item><term>None</term><description>4 steps, no early exit</description></item>
/// <item><term>Low</term><description>8 steps, no early exit</description></item>
/// <item><term>Medium</term><description>up to 16 steps, KL &lt; 5e-4</description></item>
/// <item><term>High</term><description>up to 32 steps, KL &lt; 5e-4</description></item>
/// <item><term>ExtraHigh</term><description>up to 64 steps, KL &lt; 5e-4</description></item>
/// <item><term>Adaptive</term><description>4 to 64 steps, KL &lt; 5e-4</description></item>
/// </list>
/// </remarks>
public sealed class EffortProfiles
{
    /// <summary>The KL threshold of the early-exit profiles: 5e-4, the paper's value.</summary>
    public const double DefaultKlThreshold = 5e-4;

    /// <summary>Profile of <see cref="ThinkingEffort.None"/>. Default: 4 steps, no early exit.</summary>
    public EffortProfile None { get; set; } = EffortProfile.Fixed(4);

    /// <summary>Profile of <see cref="ThinkingEffort.Low"/>. Default: 8 steps, no early exit.</summary>
    public EffortProfile Low { get; set; } = EffortProfile.Fixed(8);

    /// <summary>Profile of <see cref="ThinkingEffort.Medium"/>. Default: up to 16 steps, KL &lt; 5e-4.</summary>
    public EffortProfile Medium { get; set; } = EffortProfile.KlExit(16, DefaultKlThreshold);

    /// <summary>Profile of <see cref="ThinkingEffort.High"/>. Default: up to 32 steps, KL &lt; 5e-4.</summary>
    public EffortProfile High { get; set; } = EffortProfile.KlExit(32, DefaultKlThreshold);

    /// <summary>Profile of <see cref="ThinkingEffort.ExtraHigh"/>. Default: up to 64 steps, KL &lt; 5e-4.</summary>
    public EffortProfile ExtraHigh { get; set; } = EffortProfile.KlExit(64, DefaultKlThreshold);

    /// <summary>Profile of <see cref="ThinkingEffort.Adaptive"/>. Default: 4 to 64 steps, KL &lt; 5e-4.</summary>
    public EffortProfile Adaptive { get; set; } = EffortProfile.KlExit(64, DefaultKlThreshold, minSteps: 4);

    /// <summary>The profile of <paramref name="effort"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="effort"/> is not a defined value.</exception>
    public EffortProfile this[ThinkingEffort effort] => effort switch
    {
        ThinkingEffort.None => None,
        ThinkingEffort.Low => Low,
        ThinkingEffort.Medium => Medium,
        ThinkingEffort.High => High,
        ThinkingEffort.ExtraHigh => ExtraHigh,
        ThinkingEffort.Adaptive => Adaptive,
        _ => throw new ArgumentOutOfRangeException(nameof(effort), effort, "Unknown thinking effort."),
    };

    /// <summary>A copy of this table (profiles are immutable, so the copy is independent).</summary>
    public EffortProfiles Clone() => new()
    {
        None = None,
        Low = Low,
        Medium = Medium,
        High = High,
        ExtraHigh = ExtraHigh,
        Adaptive = Adaptive,
    };
}
