namespace RecurrentDepth.SemanticKernel;

/// <summary>Why an escalation attempt was or was not the last one.</summary>
public enum EffortAttemptVerdict
{
    /// <summary>Converged and (when there is one) the validator accepted it: returned to the caller.</summary>
    Accepted,

    /// <summary>Its unconverged share was above the threshold: the next effort was tried.</summary>
    Unconverged,

    /// <summary>The validator rejected it: the next effort was tried.</summary>
    Rejected,

    /// <summary>Needed more effort but it was the ceiling: returned to the caller as is.</summary>
    Ceiling,

    /// <summary>The inner client served it below the effort asked for (load fallback): returned without escalating.</summary>
    FellBack,
}

/// <summary>One attempt of an escalated request and what it cost.</summary>
/// <param name="Effort">The effort asked for.</param>
/// <param name="TotalSteps">Recurrence steps summed over its generated tokens (0 when the inner client reports none).</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="EffectiveFlops">Approximate forward FLOPs (0 when not reported).</param>
/// <param name="UnconvergedShare">Share (0..1) of its tokens that ended unconverged; null when not reported.</param>
/// <param name="Verdict">What the escalation made of it.</param>
public sealed record EffortAttempt(
    ThinkingEffort Effort,
    long TotalSteps,
    long OutputTokens,
    double EffectiveFlops,
    double? UnconvergedShare,
    EffortAttemptVerdict Verdict);
