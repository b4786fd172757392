namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Keys that <see cref="EffortEscalatingChatClient"/> adds to the final response: in
/// <c>ChatResponse.AdditionalProperties</c> (and so SK metadata) and, for the whole numbers, in
/// <c>UsageDetails.AdditionalCounts</c>. The response's other usage figures describe the accepted attempt only.
/// </summary>
public static class EscalationMetadataKeys
{
    /// <summary>The attempts, in order: <c>IReadOnlyList&lt;EffortAttempt&gt;</c> (properties only).</summary>
    public const string Attempts = "escalation_attempts";

    /// <summary>The efforts tried, e.g. <c>none&gt;low</c> (string; properties only).</summary>
    public const string EffortPath = "escalation_effort_path";

    /// <summary>Recurrence steps of each attempt, in order (<c>long[]</c>; properties only).</summary>
    public const string StepsPerAttempt = "escalation_steps_per_attempt";

    /// <summary>Number of attempts. Count (in AdditionalCounts and properties).</summary>
    public const string AttemptCount = "escalation_attempt_count";

    /// <summary>Recurrence steps summed over every attempt: what the request really cost. Count; summable.</summary>
    public const string TotalSteps = "escalation_total_steps";

    /// <summary>Generated tokens summed over every attempt. Count; summable.</summary>
    public const string TotalOutputTokens = "escalation_total_output_tokens";

    /// <summary>Approximate forward FLOPs summed over every attempt. FLOPs; summable.</summary>
    public const string TotalFlops = "escalation_total_flops";

    /// <summary>Why escalation stopped: accepted, ceiling or fell_back (string; properties only).</summary>
    public const string StopReason = "escalation_stop_reason";
}
