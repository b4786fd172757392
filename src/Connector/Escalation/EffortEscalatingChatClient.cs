using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using E = RecurrentDepth.SemanticKernel.EscalationMetadataKeys;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Middleware that raises thinking effort only when a step turns out to be hard: it answers at
/// <see cref="EffortEscalationOptions.StartEffort"/>, and while the response is unconverged (its
/// <see cref="RecurrenceMetadataKeys.UnconvergedShare"/> is above the threshold) or the caller's validator rejects
/// it, asks again at the next effort of the ladder, up to <see cref="EffortEscalationOptions.MaxEffort"/>.
/// </summary>
/// <remarks>
/// <para>The final response is the last attempt's, with every attempt and its cost added
/// (<see cref="EscalationMetadataKeys"/>: effort path, steps per attempt, totals). Its own usage figures describe that
/// attempt; <see cref="EscalationMetadataKeys.TotalSteps"/> is what the whole request cost.</para>
/// <para>Streaming is <b>buffered</b>: each attempt's updates are held until its verdict (the convergence figures
/// arrive with the last token), and the caller receives the accepted attempt's updates only, so no text it has seen
/// is ever retracted or repeated. The price is that the first update arrives when the accepted attempt has ended.</para>
/// <para>Effort is set per attempt with the <c>thinking_effort</c> chat option, which wins over
/// <c>reasoning_effort</c>/<see cref="ChatOptions.Reasoning"/>; an explicit <c>recurrence_steps</c> would override
/// every attempt, so it is rejected. Errors of an attempt (queue full, timeouts, cancellation) are not escalated:
/// they propagate as they are, so the connector's load fallback and this middleware never both react to one
/// event, and an attempt that the fallback served below the asked effort ends the escalation
/// (<see cref="EffortEscalationOptions.StopWhenFallenBack"/>).</para>
/// </remarks>
public sealed class EffortEscalatingChatClient : DelegatingChatClient
{
    private static readonly Counter<long> Escalations = GenerationTelemetry.Meter.CreateCounter<long>(
        "recurrent_depth.effort_escalations", "{attempt}", "Attempts repeated at a higher thinking effort.");

    private static readonly string[] EscalationKeys =
        [E.Attempts, E.EffortPath, E.StepsPerAttempt, E.AttemptCount, E.TotalSteps, E.TotalOutputTokens, E.TotalFlops, E.StopReason];

    private readonly EffortEscalationOptions _options;
    private readonly IReadOnlyList<ThinkingEffort> _efforts;

    /// <summary>Creates the middleware over <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client that answers each attempt (usually a <see cref="RecurrentDepthChatClient"/> pipeline).</param>
    /// <param name="options">The ladder, ceiling, threshold and validator; null uses the defaults. Read once, here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerClient"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid; <see cref="ArgumentException.ParamName"/> names it.</exception>
    public EffortEscalatingChatClient(IChatClient innerClient, EffortEscalationOptions? options = null)
        : base(innerClient)
    {
        _options = options ?? new EffortEscalationOptions();
        _efforts = _options.Steps();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><c>recurrence_steps</c> is set in the chat options (it would defeat escalation).</exception>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var history = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        ThrowIfDepthIsPinned(options);
        var attempts = new List<EffortAttempt>();
        for (int level = 0; ; level++)
        {
            var response = await base.GetResponseAsync(history, At(options, _efforts[level]), cancellationToken).ConfigureAwait(false);
            if (await JudgeAsync(response, level, attempts, cancellationToken).ConfigureAwait(false))
            {
                response.AdditionalProperties ??= [];
                response.Usage ??= new UsageDetails();
                Annotate(response.AdditionalProperties, response.Usage.AdditionalCounts ??= [], attempts);
                if (response.Messages.Count > 0)
                {
                    // SK's adapter reads metadata from the message, so the message carries the attempts too.
                    var message = response.Messages[^1];
                    foreach (var key in EscalationKeys)
                    {
                        (message.AdditionalProperties ??= [])[key] = response.AdditionalProperties[key];
                    }
                }

                return response;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Buffered: see the class remarks.</remarks>
    /// <exception cref="ArgumentException"><c>recurrence_steps</c> is set in the chat options (it would defeat escalation).</exception>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var history = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        ThrowIfDepthIsPinned(options);
        var attempts = new List<EffortAttempt>();
        for (int level = 0; ; level++)
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in base.GetStreamingResponseAsync(history, At(options, _efforts[level]), cancellationToken).ConfigureAwait(false))
            {
                updates.Add(update);
            }

            var response = updates.ToChatResponse();
            // The figures ride on the last update that has them; aggregation keeps them per message, so lift them.
            if (updates.LastOrDefault(u => u.AdditionalProperties is not null) is { } withFigures)
            {
                response.AdditionalProperties = new AdditionalPropertiesDictionary(withFigures.AdditionalProperties!);
            }

            if (!await JudgeAsync(response, level, attempts, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            if (updates.Count == 0)
            {
                updates.Add(new ChatResponseUpdate(ChatRole.Assistant, []));
            }

            var last = updates[^1];
            var usage = last.Contents.OfType<UsageContent>().FirstOrDefault();
            if (usage is null)
            {
                usage = new UsageContent(new UsageDetails());
                last.Contents.Add(usage);
            }

            Annotate(last.AdditionalProperties ??= [], usage.Details.AdditionalCounts ??= [], attempts);
            foreach (var update in updates)
            {
                yield return update;
            }

            yield break;
        }
    }

    /// <summary>Records the attempt; true when it is the response to return.</summary>
    private async ValueTask<bool> JudgeAsync(ChatResponse response, int level, List<EffortAttempt> attempts, CancellationToken cancellationToken)
    {
        var effort = _efforts[level];
        double? share = ResponseCompute.UnconvergedShare(response);
        EffortAttemptVerdict verdict;
        if (_options.StopWhenFallenBack && ResponseCompute.Count(response, K.FallbackLevels) > 0)
        {
            verdict = EffortAttemptVerdict.FellBack;
        }
        else if (share > _options.UnconvergedShareThreshold)
        {
            verdict = EffortAttemptVerdict.Unconverged;
        }
        else if (_options.Validator is { } validator && !await validator(response, cancellationToken).ConfigureAwait(false))
        {
            verdict = EffortAttemptVerdict.Rejected;
        }
        else
        {
            verdict = EffortAttemptVerdict.Accepted;
        }

        bool final = verdict is EffortAttemptVerdict.Accepted or EffortAttemptVerdict.FellBack || level == _efforts.Count - 1;
        if (final && verdict is EffortAttemptVerdict.Unconverged or EffortAttemptVerdict.Rejected)
        {
            verdict = EffortAttemptVerdict.Ceiling;
        }

        attempts.Add(new EffortAttempt(
            effort,
            ResponseCompute.Count(response, K.TotalSteps),
            response.Usage?.OutputTokenCount ?? 0,
            ResponseCompute.Flops(response),
            share,
            verdict));
        if (!final)
        {
            Escalations.Add(1,
                new KeyValuePair<string, object?>("recurrent_depth.escalation.from", ThinkingEffortNames.ToSettingValue(effort)),
                new KeyValuePair<string, object?>("recurrent_depth.escalation.to", ThinkingEffortNames.ToSettingValue(_efforts[level + 1])),
                new KeyValuePair<string, object?>("recurrent_depth.escalation.reason", verdict == EffortAttemptVerdict.Unconverged ? "unconverged" : "rejected"));
        }

        return final;
    }

    private static void Annotate(AdditionalPropertiesDictionary properties, AdditionalPropertiesDictionary<long> counts, List<EffortAttempt> attempts)
    {
        long steps = attempts.Sum(a => a.TotalSteps);
        long tokens = attempts.Sum(a => a.OutputTokens);
        double flops = attempts.Sum(a => a.EffectiveFlops);
        properties[E.Attempts] = attempts.ToArray();
        properties[E.EffortPath] = string.Join('>', attempts.Select(a => ThinkingEffortNames.ToSettingValue(a.Effort)));
        properties[E.StepsPerAttempt] = attempts.Select(a => a.TotalSteps).ToArray();
        properties[E.AttemptCount] = attempts.Count;
        properties[E.TotalSteps] = steps;
        properties[E.TotalOutputTokens] = tokens;
        properties[E.TotalFlops] = flops;
        properties[E.StopReason] = attempts[^1].Verdict switch
        {
            EffortAttemptVerdict.Accepted => "accepted",
            EffortAttemptVerdict.FellBack => "fell_back",
            _ => "ceiling",
        };
        counts[E.AttemptCount] = attempts.Count;
        counts[E.TotalSteps] = steps;
        counts[E.TotalOutputTokens] = tokens;
        counts[E.TotalFlops] = (long)Math.Round(flops);
    }

    private static ChatOptions At(ChatOptions? options, ThinkingEffort effort)
    {
        var attempt = options?.Clone() ?? new ChatOptions();
        attempt.AdditionalProperties = attempt.AdditionalProperties is null ? [] : new AdditionalPropertiesDictionary(attempt.AdditionalProperties);
        attempt.AdditionalProperties["thinking_effort"] = ThinkingEffortNames.ToSettingValue(effort);
        return attempt;
    }

    private static void ThrowIfDepthIsPinned(ChatOptions? options)
    {
        if (options?.AdditionalProperties?.ContainsKey("recurrence_steps") == true)
        {
            throw new ArgumentException(
                "recurrence_steps pins the depth of every attempt, so effort escalation could not raise it; remove it and set EffortEscalationOptions.StartEffort/MaxEffort instead.",
                "recurrence_steps");
        }
    }
}
