namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Keys of the latent-compute figures every response carries: in MEAI <c>UsageDetails.AdditionalCounts</c> (whole
/// numbers; the summable ones are marked) and in <c>ChatResponse.AdditionalProperties</c> / SK message
/// <c>Metadata</c> (exact values: doubles, strings).
/// </summary>
public static class RecurrenceMetadataKeys
{
    /// <summary>Recurrence steps summed over the generated tokens. Count; summable across calls.</summary>
    public const string TotalSteps = "recurrence_total_steps";

    /// <summary>Mean recurrence steps per generated token. In AdditionalCounts: × 1000, rounded (12.345 steps → 12345).</summary>
    public const string MeanSteps = "recurrence_mean_steps";

    /// <summary>The key of <see cref="MeanSteps"/> in AdditionalCounts, where the value is mean steps × 1000.</summary>
    public const string MeanStepsX1000 = "recurrence_mean_steps_x1000";

    /// <summary>Most recurrence steps any generated token ran. Steps.</summary>
    public const string MaxSteps = "recurrence_max_steps";

    /// <summary>Generated tokens that ran to the cap without the exit criterion firing. Count; summable.</summary>
    public const string CapHitTokens = "recurrence_cap_hit_tokens";

    /// <summary>Share (0..1) of generated tokens that hit the cap; the "this was hard" signal. 1 for fixed depth.</summary>
    public const string CapHitShare = "recurrence_cap_hit_share";

    /// <summary>The key of <see cref="CapHitShare"/> in AdditionalCounts, where the value is the share × 1000 (per mille).</summary>
    public const string CapHitShareX1000 = "recurrence_cap_hit_share_x1000";

    /// <summary>
    /// Generated tokens whose convergence value (the exit criterion's value at their last step; for fixed depth the KL
    /// between the last two steps' next-token distributions) ended above the effort's threshold. Count; summable.
    /// </summary>
    public const string UnconvergedTokens = "recurrence_unconverged_tokens";

    /// <summary>Share (0..1) of generated tokens that ended unconverged: the "this was hard" signal at every effort (double).</summary>
    public const string UnconvergedShare = "recurrence_unconverged_share";

    /// <summary>The key of <see cref="UnconvergedShare"/> in AdditionalCounts, where the value is the share × 1000 (per mille).</summary>
    public const string UnconvergedShareX1000 = "recurrence_unconverged_share_x1000";

    /// <summary>The worst (largest) convergence value of the response (double; absent when the engine measured none).</summary>
    public const string MaxExitValue = "recurrence_max_exit_value";

    /// <summary>The key of <see cref="MaxExitValue"/> in AdditionalCounts, where the value is × 1,000,000, rounded.</summary>
    public const string MaxExitValueX1e6 = "recurrence_max_exit_value_x1e6";

    /// <summary>Approximate forward FLOPs spent on the response (prompt and generated tokens). FLOPs; summable.</summary>
    public const string EffectiveFlops = "recurrence_effective_flops";

    /// <summary>The step cap applied (after any fallback). Steps.</summary>
    public const string AppliedMaxSteps = "recurrence_applied_max_steps";

    /// <summary>The step floor applied before the exit criterion is checked. Steps.</summary>
    public const string AppliedMinSteps = "recurrence_applied_min_steps";

    /// <summary>The step cap the request asked for, before any fallback. Steps.</summary>
    public const string RequestedMaxSteps = "recurrence_requested_max_steps";

    /// <summary>The exit criterion applied: none, kl, minp-kl, ... (string; not in AdditionalCounts).</summary>
    public const string ExitCriterion = "recurrence_exit_criterion";

    /// <summary>The exit threshold in force (double; not in AdditionalCounts).</summary>
    public const string ExitThreshold = "recurrence_exit_threshold";

    /// <summary>The effort applied, e.g. "high" (string; absent when explicit <c>recurrence_steps</c> set the depth).</summary>
    public const string ThinkingEffort = "thinking_effort";

    /// <summary>What set the depth: recurrence_steps, thinking_effort, reasoning_effort or default (string).</summary>
    public const string DepthSource = "recurrence_depth_source";

    /// <summary>Effort levels the request fell back by (0 when none). Count.</summary>
    public const string FallbackLevels = "recurrence_fallback_levels";

    /// <summary>Why it fell back: queue_full or first_token_timeout (string; absent when it did not).</summary>
    public const string FallbackReason = "recurrence_fallback_reason";

    /// <summary>Key/value cache bytes per token the sequence held at the end (double; long in AdditionalCounts).</summary>
    public const string KvBytesPerToken = "recurrence_kv_bytes_per_token";

    /// <summary>Prompt tokens reused from the engine's prefix cache, not prefilled again (long; also MEAI <c>UsageDetails.CachedInputTokenCount</c>).</summary>
    public const string CachedInputTokens = "cached_input_tokens";

    /// <summary>Generated tokens per second of engine time (double; not in AdditionalCounts).</summary>
    public const string TokensPerSecond = "recurrence_tokens_per_second";

    /// <summary>SK metadata: the <c>Microsoft.Extensions.AI.UsageDetails</c> of the response (same object shape as MEAI's).</summary>
    public const string Usage = "Usage";

    /// <summary>SK metadata: why generation ended: stop, length or cancelled (string).</summary>
    public const string FinishReason = "FinishReason";
}
