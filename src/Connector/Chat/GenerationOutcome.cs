using Microsoft.Extensions.AI;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel;

/// <summary>How a request ended: the engine's summary plus what the connector did (fallback), in the shapes users read.</summary>
internal sealed record GenerationOutcome(
    GenerationSummary Summary,
    RequestPlan Plan,
    ThinkingEffort? AppliedEffort,
    int FallbackLevels,
    string? FallbackReason,
    string ModelId)
{
    public DepthPolicy Applied => Summary.Depth;

    public long TotalSteps => Summary.TotalSteps;

    public long CapHitTokens => Summary.CapHitTokens;

    public string FinishReasonText => Summary.FinishReason switch
    {
        Engine.FinishReason.Stop => "stop",
        Engine.FinishReason.Length => "length",
        _ => "cancelled",
    };

    public ChatFinishReason ChatFinishReason => Summary.FinishReason switch
    {
        Engine.FinishReason.Stop => ChatFinishReason.Stop,
        Engine.FinishReason.Length => ChatFinishReason.Length,
        _ => new ChatFinishReason("cancelled"),
    };

    public string DepthSourceText => Plan.Source switch
    {
        DepthSource.RecurrenceSteps => "recurrence_steps",
        DepthSource.ThinkingEffort => "thinking_effort",
        DepthSource.ReasoningEffort => "reasoning_effort",
        _ => "default",
    };

    /// <summary>Token counts plus the whole-number latent-compute figures (worst convergence value only when measured).</summary>
    public UsageDetails ToUsage()
    {
        var usage = CountsUsage();
        if (Summary.MaxExitValue is double worst && double.IsFinite(worst))
        {
            // Scaled to a whole number; capped so a diverged value cannot overflow the long.
            usage.AdditionalCounts![K.MaxExitValueX1e6] = (long)Math.Round(Math.Min(worst, 1e12) * 1e6);
        }

        return usage;
    }

    private UsageDetails CountsUsage() => new()
    {
        InputTokenCount = Summary.InputTokens,
        OutputTokenCount = Summary.OutputTokens,
        TotalTokenCount = Summary.InputTokens + Summary.OutputTokens,
        CachedInputTokenCount = Summary.CachedInputTokens,
        AdditionalCounts = new AdditionalPropertiesDictionary<long>
        {
            [K.TotalSteps] = TotalSteps,
            [K.MeanStepsX1000] = (long)Math.Round(Summary.MeanSteps * 1000),
            [K.MaxSteps] = Summary.MaxSteps,
            [K.CapHitTokens] = CapHitTokens,
            [K.CapHitShareX1000] = (long)Math.Round(Summary.CapHitShare * 1000),
            [K.EffectiveFlops] = (long)Math.Round(Summary.EffectiveFlops),
            [K.AppliedMaxSteps] = Applied.MaxSteps,
            [K.AppliedMinSteps] = Applied.MinSteps,
            [K.RequestedMaxSteps] = Plan.Request.Depth.MaxSteps,
            [K.FallbackLevels] = FallbackLevels,
            [K.KvBytesPerToken] = (long)Math.Round(Summary.KvBytesPerToken),
            [K.UnconvergedTokens] = Summary.UnconvergedTokens,
            [K.UnconvergedShareX1000] = (long)Math.Round(Summary.UnconvergedShare * 1000),
        },
    };

    /// <summary>The exact figures (doubles and strings) for MEAI AdditionalProperties and SK metadata.</summary>
    public Dictionary<string, object?> ToFigures()
    {
        var figures = new Dictionary<string, object?>
        {
            [K.MeanSteps] = Summary.MeanSteps,
            [K.MaxSteps] = Summary.MaxSteps,
            [K.TotalSteps] = TotalSteps,
            [K.CapHitShare] = Summary.CapHitShare,
            [K.CapHitTokens] = CapHitTokens,
            [K.EffectiveFlops] = Summary.EffectiveFlops,
            [K.AppliedMaxSteps] = Applied.MaxSteps,
            [K.AppliedMinSteps] = Applied.MinSteps,
            [K.RequestedMaxSteps] = Plan.Request.Depth.MaxSteps,
            [K.ExitCriterion] = Applied.Criterion.ToReferenceName(),
            [K.ExitThreshold] = Applied.Criterion == ExitCriterion.None ? null : Applied.EffectiveThreshold,
            [K.DepthSource] = DepthSourceText,
            [K.FallbackLevels] = FallbackLevels,
            [K.TokensPerSecond] = Summary.TokensPerSecond,
            [K.KvBytesPerToken] = Summary.KvBytesPerToken,
            [K.CachedInputTokens] = (long)Summary.CachedInputTokens,
            [K.UnconvergedTokens] = Summary.UnconvergedTokens,
            [K.UnconvergedShare] = Summary.UnconvergedShare,
        };
        if (Summary.MaxExitValue is double worst)
        {
            figures[K.MaxExitValue] = worst;
        }

        if (AppliedEffort is { } effort)
        {
            figures[K.ThinkingEffort] = ThinkingEffortNames.ToSettingValue(effort);
        }

        if (FallbackReason is not null)
        {
            figures[K.FallbackReason] = FallbackReason;
        }

        return figures;
    }
}
