using RecurrentDepth.Engine;
using RecurrentDepth.Generation;

namespace RecurrentDepth.SemanticKernel;

/// <summary>Where the depth of a request came from, for precedence reporting.</summary>
internal enum DepthSource
{
    RecurrenceSteps,
    ThinkingEffort,
    ReasoningEffort,
    DefaultEffort,
}

/// <summary>A lower rung the resilience layer may fall back to.</summary>
internal sealed record FallbackRung(ThinkingEffort Effort, DepthPolicy Depth);

/// <summary>A mapped request: what the engine gets, where its depth came from, and the fallback ladder below it.</summary>
internal sealed record RequestPlan(
    GenerationRequest Request,
    ThinkingEffort? Effort,
    DepthSource Source,
    IReadOnlyList<FallbackRung> Fallbacks);
