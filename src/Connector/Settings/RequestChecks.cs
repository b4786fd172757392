using RecurrentDepth.Tokenization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Checks of a request that no single setting's type can express: limits from <see cref="RecurrentDepthOptions"/>,
/// empty stop sequences, user turns without text. Each failure is an <see cref="ArgumentException"/> whose
/// <see cref="ArgumentException.ParamName"/> is the setting's JSON name, thrown before the engine sees the request.
/// </summary>
internal static class RequestChecks
{
    /// <summary>A user turn must say something: an empty one would render as a bare template and waste a request.</summary>
    public static void UserTurnsHaveText(IReadOnlyList<ChatTurn> turns)
    {
        for (int i = 0; i < turns.Count; i++)
        {
            if (string.Equals(turns[i].Role, "user", StringComparison.OrdinalIgnoreCase) && string.IsNullOrEmpty(turns[i].Content))
            {
                throw SettingErrors.Invalid("messages", $"Message {i} (role user) has no text content; give each user message its text.");
            }
        }
    }

    /// <summary>Explicit <c>recurrence_steps</c>: at least 1, at most <see cref="RecurrentDepthOptions.MaxRecurrenceSteps"/>.</summary>
    public static void RecurrenceStepsInRange(int steps, RecurrentDepthOptions options)
    {
        if (steps < 1 || steps > options.MaxRecurrenceSteps)
        {
            throw SettingErrors.OutOfRange("recurrence_steps", steps,
                $"recurrence_steps must be between 1 and {options.MaxRecurrenceSteps} (RecurrentDepth:MaxRecurrenceSteps); got {steps}.");
        }
    }

    /// <summary>
    /// The cap in force after every override stays within <see cref="RecurrentDepthOptions.MaxRecurrenceSteps"/>
    /// (guards options changed after they were validated).
    /// </summary>
    public static void DepthWithinLimit(int maxSteps, string source, RecurrentDepthOptions options)
    {
        if (maxSteps > options.MaxRecurrenceSteps)
        {
            throw SettingErrors.OutOfRange(source, maxSteps,
                $"{source} asks for {maxSteps} recurrence steps per token; RecurrentDepth:MaxRecurrenceSteps allows at most {options.MaxRecurrenceSteps}.");
        }
    }

    /// <summary>Stop sequences must be non-empty strings: an empty one would match everywhere (or be silently dropped).</summary>
    public static IReadOnlyList<string> StopSequences(IList<string>? stops)
    {
        if (stops is null)
        {
            return [];
        }

        for (int i = 0; i < stops.Count; i++)
        {
            if (string.IsNullOrEmpty(stops[i]))
            {
                throw SettingErrors.Invalid("stop_sequences", $"stop_sequences[{i}] is empty; every stop sequence needs at least one character.");
            }
        }

        return [.. stops];
    }
}
