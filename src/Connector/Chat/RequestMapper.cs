using System.Text.Json;
using Microsoft.Extensions.AI;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// The one mapping from caller settings to a <see cref="GenerationRequest"/>, shared by the SK service and the MEAI
/// client. MEAI <see cref="ChatOptions"/> are first turned into <see cref="RecurrentDepthPromptExecutionSettings"/>
/// (<see cref="FromChatOptions"/>), so both surfaces read the same keys with the same errors.
/// </summary>
/// <remarks>
/// Depth precedence, highest first: <c>recurrence_steps</c> (fixed depth unless <c>exit_criterion</c> is given) &gt;
/// <c>thinking_effort</c> &gt; <c>reasoning_effort</c> (MEAI <see cref="ReasoningOptions.Effort"/>) &gt;
/// <see cref="RecurrentDepthOptions.DefaultEffort"/>. <c>exit_criterion</c>, <c>exit_threshold</c> and
/// <c>min_recurrence_steps</c> then override the chosen profile's fields; <c>continuous_compute</c> sets warm start.
/// </remarks>
internal static class RequestMapper
{
    public static RequestPlan Map(IReadOnlyList<ChatTurn> turns, RecurrentDepthPromptExecutionSettings settings, RecurrentDepthOptions options)
    {
        ArgumentNullException.ThrowIfNull(turns);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        if (turns.Count == 0)
        {
            throw SettingErrors.Invalid("messages", "The chat history is empty: give at least one message.");
        }

        RequestChecks.UserTurnsHaveText(turns);

        var (depth, effort, source) = MapDepth(settings, options);
        var sampling = new SamplingOptions
        {
            Temperature = settings.Temperature ?? 0,
            TopP = settings.TopP ?? 1.0,
            TopK = settings.TopK ?? 0,
            MinP = settings.MinP ?? 0,
            RepetitionPenalty = settings.RepetitionPenalty ?? 1.0,
        }.Validate();

        var request = new GenerationRequest
        {
            Messages = turns,
            Depth = depth,
            Sampling = sampling,
            Cache = settings.CacheStrategy is null ? null : Caching.CacheStrategy.Parse(settings.CacheStrategy, "cache_strategy"),
            MaxNewTokens = settings.MaxTokens ?? options.DefaultMaxTokens,
            StopSequences = RequestChecks.StopSequences(settings.StopSequences),
            Seed = settings.Seed,
            IgnoreEndOfTurn = settings.IgnoreEndOfTurn ?? false,
        }.Validate();

        return new RequestPlan(request, effort, source, FallbacksBelow(depth, options.EffortProfiles));
    }

    private static (DepthPolicy Depth, ThinkingEffort? Effort, DepthSource Source) MapDepth(
        RecurrentDepthPromptExecutionSettings settings, RecurrentDepthOptions options)
    {
        ThinkingEffort? effort = null;
        DepthSource source;
        DepthPolicy depth;
        if (settings.RecurrenceSteps is int steps)
        {
            RequestChecks.RecurrenceStepsInRange(steps, options);
            source = DepthSource.RecurrenceSteps;
            depth = new DepthPolicy { MaxSteps = steps };
        }
        else
        {
            if (settings.ThinkingEffort is { } thinking)
            {
                if (!Enum.IsDefined(thinking))
                {
                    throw SettingErrors.OutOfRange("thinking_effort", thinking, ThinkingEffortNames.UnknownMessage(thinking.ToString(), "thinking_effort"));
                }

                (effort, source) = (thinking, DepthSource.ThinkingEffort);
            }
            else if (!string.IsNullOrWhiteSpace(settings.ReasoningEffort))
            {
                (effort, source) = (ThinkingEffortNames.Parse(settings.ReasoningEffort, "reasoning_effort"), DepthSource.ReasoningEffort);
            }
            else
            {
                (effort, source) = (ThinkingEffortNames.Parse(options.DefaultEffort, "RecurrentDepth:DefaultEffort"), DepthSource.DefaultEffort);
            }

            var profile = options.EffortProfiles[effort.Value];
            depth = new DepthPolicy { MaxSteps = profile.MaxSteps, MinSteps = profile.MinSteps, Criterion = profile.Criterion, Threshold = profile.Threshold };
        }

        if (settings.ExitCriterion is { } criterionName)
        {
            depth = depth with { Criterion = ExitCriteria.Parse(criterionName, "exit_criterion") };
        }

        if (settings.ExitThreshold is double threshold)
        {
            if (threshold < 0 || !double.IsFinite(threshold))
            {
                throw SettingErrors.OutOfRange("exit_threshold", threshold, "exit_threshold must be a finite number ≥ 0.");
            }

            depth = depth with { Threshold = threshold };
        }

        if (settings.MinRecurrenceSteps is int min)
        {
            if (min < 0 || min > depth.MaxSteps)
            {
                throw SettingErrors.OutOfRange("min_recurrence_steps", min, $"min_recurrence_steps must be between 0 and the max steps in force ({depth.MaxSteps}).");
            }

            depth = depth with { MinSteps = min };
        }
        else if (depth.MinSteps > depth.MaxSteps)
        {
            depth = depth with { MinSteps = depth.MaxSteps };
        }

        if (settings.ContinuousCompute is bool warm)
        {
            depth = depth with { ContinuousCompute = warm };
        }

        RequestChecks.DepthWithinLimit(depth.MaxSteps, source == DepthSource.RecurrenceSteps ? "recurrence_steps" : $"RecurrentDepth:EffortProfiles:{effort}", options);
        return (depth.Validate(), effort, source);
    }

    /// <summary>Efforts whose cap is below <paramref name="depth"/>'s, highest first, keeping its warm-start setting.</summary>
    private static List<FallbackRung> FallbacksBelow(DepthPolicy depth, EffortProfiles profiles)
    {
        var rungs = new List<FallbackRung>();
        int cap = depth.MaxSteps;
        foreach (var effort in new[] { ThinkingEffort.ExtraHigh, ThinkingEffort.High, ThinkingEffort.Medium, ThinkingEffort.Low, ThinkingEffort.None })
        {
            var profile = profiles[effort];
            if (profile.MaxSteps < cap)
            {
                rungs.Add(new FallbackRung(effort, profile.ToDepthPolicy() with { ContinuousCompute = depth.ContinuousCompute }));
                cap = profile.MaxSteps;
            }
        }

        return rungs;
    }

    /// <summary>
    /// Reads MEAI options into settings: the snake_case keys of <see cref="ChatOptions.AdditionalProperties"/> first
    /// (same names and errors as SK settings), then the typed properties, which win over duplicate keys:
    /// <see cref="ChatOptions.Reasoning"/> effort → reasoning_effort, Temperature, TopP, TopK, MaxOutputTokens, Seed,
    /// StopSequences.
    /// </summary>
    public static RecurrentDepthPromptExecutionSettings FromChatOptions(ChatOptions? options)
    {
        if (options is null)
        {
            return new RecurrentDepthPromptExecutionSettings();
        }

        RecurrentDepthPromptExecutionSettings settings = new();
        if (options.AdditionalProperties is { Count: > 0 } extra)
        {
            var values = new Dictionary<string, object?>(extra);
            EffortSettingValues.Normalize(values);
            settings = RecurrentDepthPromptExecutionSettings.FromJson(JsonSerializer.Serialize(values, SettingsJson.Write));
        }


        if (options.Reasoning?.Effort is { } reasoning)
        {
            settings.ReasoningEffort = reasoning switch
            {
                ReasoningEffort.None => "none",
                ReasoningEffort.Low => "low",
                ReasoningEffort.Medium => "medium",
                ReasoningEffort.High => "high",
                ReasoningEffort.ExtraHigh => "xhigh",
                _ => reasoning.ToString(),
            };
        }

        settings.ModelId = options.ModelId ?? settings.ModelId;
        settings.Temperature = (double?)options.Temperature ?? settings.Temperature;
        settings.TopP = (double?)options.TopP ?? settings.TopP;
        settings.TopK = options.TopK ?? settings.TopK;
        settings.MaxTokens = options.MaxOutputTokens ?? settings.MaxTokens;
        settings.Seed = options.Seed ?? settings.Seed;
        settings.StopSequences = options.StopSequences is { Count: > 0 } stops ? [.. stops] : settings.StopSequences;
        return settings;
    }

    /// <summary>MEAI messages (plus <see cref="ChatOptions.Instructions"/> as a leading system turn) as template turns.</summary>
    public static List<ChatTurn> ToTurns(IEnumerable<ChatMessage> messages, string? instructions)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrWhiteSpace(instructions))
        {
            turns.Add(new ChatTurn("system", instructions));
        }

        foreach (var message in messages)
        {
            turns.Add(new ChatTurn(message.Role.Value, message.Text));
        }

        return turns;
    }
}
