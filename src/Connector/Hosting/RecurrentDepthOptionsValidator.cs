using Microsoft.Extensions.Options;

namespace RecurrentDepth.SemanticKernel;

/// <summary>Validates the chat-service fields of <see cref="RecurrentDepthOptions"/>; each failure names the option.</summary>
internal sealed class RecurrentDepthOptionsValidator : IValidateOptions<RecurrentDepthOptions>
{
    public ValidateOptionsResult Validate(string? name, RecurrentDepthOptions options)
    {
        var failures = new List<string>();
        Collect(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The same checks for options handed to a client or service directly, without the container.</summary>
    /// <exception cref="ArgumentException">An option is invalid; the message names every invalid one.</exception>
    internal static void ThrowIfInvalid(RecurrentDepthOptions options)
    {
        var failures = new List<string>();
        Collect(options, failures);
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }
    }

    internal static void Collect(RecurrentDepthOptions options, List<string> failures)
    {
        const string S = RecurrentDepthOptions.SectionName;
        if (!ThinkingEffortNames.TryParse(options.DefaultEffort, out _))
        {
            failures.Add($"{S}:DefaultEffort '{options.DefaultEffort}' is not a known thinking effort; accepted values: {string.Join(", ", ThinkingEffortNames.AcceptedValues)}.");
        }

        if (options.MaxRecurrenceSteps < 1)
        {
            failures.Add($"{S}:MaxRecurrenceSteps must be at least 1 (got {options.MaxRecurrenceSteps}).");
        }

        if (options.EffortProfiles is null)
        {
            failures.Add($"{S}:EffortProfiles must not be null.");
        }
        else
        {
            foreach (var effort in Enum.GetValues<ThinkingEffort>())
            {
                var profile = options.EffortProfiles[effort];
                if (profile is null)
                {
                    failures.Add($"{S}:EffortProfiles:{effort} must not be null.");
                    continue;
                }

                if (profile.MaxSteps > options.MaxRecurrenceSteps)
                {
                    failures.Add($"{S}:EffortProfiles:{effort}:MaxSteps is {profile.MaxSteps}; {S}:MaxRecurrenceSteps allows at most {options.MaxRecurrenceSteps}.");
                }

                try
                {
                    profile.ToDepthPolicy();
                }
                catch (ArgumentException ex)
                {
                    failures.Add($"{S}:EffortProfiles:{effort} is invalid ({ex.ParamName}): {FirstSentence(ex.Message)}");
                }
            }
        }

        if (options.DefaultMaxTokens < 1)
        {
            failures.Add($"{S}:DefaultMaxTokens must be at least 1 (got {options.DefaultMaxTokens}).");
        }

        if (options.RequestTimeout <= TimeSpan.Zero && options.RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            failures.Add($"{S}:RequestTimeout must be positive or infinite (-00:00:00.001); got {options.RequestTimeout}.");
        }

        if (options.FirstTokenTimeout is { } first && first <= TimeSpan.Zero && first != Timeout.InfiniteTimeSpan)
        {
            failures.Add($"{S}:FirstTokenTimeout must be positive or infinite; got {first}.");
        }

        if (options.EffortFallbackDelay < TimeSpan.Zero || options.EffortFallbackDelay > TimeSpan.FromDays(1))
        {
            failures.Add($"{S}:EffortFallbackDelay must be between zero and one day; got {options.EffortFallbackDelay}.");
        }
    }

    private static string FirstSentence(string message)
    {
        // ArgumentException appends " (Parameter 'x')"; the option name is already in our message.
        int cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
