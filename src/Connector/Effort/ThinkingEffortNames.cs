namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// The spellings of <see cref="ThinkingEffort"/> accepted in settings (<c>thinking_effort</c>, <c>reasoning_effort</c>),
/// chat options and configuration, so code written for other providers works unchanged.
/// </summary>
public static class ThinkingEffortNames
{
    /// <summary>Every accepted spelling, lower case: none, minimal, low, medium, high, xhigh, extra_high, extrahigh, adaptive.</summary>
    public static IReadOnlyList<string> AcceptedValues { get; } =
        ["none", "minimal", "low", "medium", "high", "xhigh", "extra_high", "extrahigh", "adaptive"];

    /// <summary>The canonical setting value of <paramref name="effort"/>: none, low, medium, high, xhigh or adaptive.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="effort"/> is not a defined value.</exception>
    public static string ToSettingValue(ThinkingEffort effort) => effort switch
    {
        ThinkingEffort.None => "none",
        ThinkingEffort.Low => "low",
        ThinkingEffort.Medium => "medium",
        ThinkingEffort.High => "high",
        ThinkingEffort.ExtraHigh => "xhigh",
        ThinkingEffort.Adaptive => "adaptive",
        _ => throw new ArgumentOutOfRangeException(nameof(effort), effort, "Unknown thinking effort."),
    };

    /// <summary>
    /// Reads a spelling (case-insensitive; <c>-</c> and <c>_</c> are interchangeable; the enum names such as
    /// <c>ExtraHigh</c> work too).
    /// </summary>
    /// <param name="value">The text to read.</param>
    /// <param name="effort">The effort when the text is accepted.</param>
    /// <returns>Whether the text is an accepted spelling.</returns>
    public static bool TryParse(string? value, out ThinkingEffort effort)
    {
        effort = default;
        if (value is null)
        {
            return false;
        }

        ThinkingEffort? parsed = value.Trim().ToLowerInvariant().Replace('-', '_') switch
        {
            "none" or "minimal" => ThinkingEffort.None,
            "low" => ThinkingEffort.Low,
            "medium" => ThinkingEffort.Medium,
            "high" => ThinkingEffort.High,
            "xhigh" or "extra_high" or "extrahigh" => ThinkingEffort.ExtraHigh,
            "adaptive" => ThinkingEffort.Adaptive,
            _ => null,
        };
        effort = parsed.GetValueOrDefault();
        return parsed.HasValue;
    }

    /// <summary>Reads a spelling, or throws an error that names the setting and lists the accepted values.</summary>
    /// <param name="value">The text to read.</param>
    /// <param name="settingName">The setting the text came from, e.g. <c>thinking_effort</c> or <c>reasoning_effort</c>.</param>
    /// <exception cref="ArgumentException">The text is not an accepted spelling.</exception>
    public static ThinkingEffort Parse(string? value, string settingName)
    {
        if (TryParse(value, out var effort))
        {
            return effort;
        }

        throw new ArgumentException(UnknownMessage(value, settingName), settingName);
    }

    internal static string UnknownMessage(string? value, string settingName) =>
        $"{settingName} '{value}' is not a known thinking effort; accepted values: {string.Join(", ", AcceptedValues)}.";
}
