using Microsoft.Extensions.AI;
using RecurrentDepth.Server.Wire;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.Server.Translation;

/// <summary>
/// Reads what the connector's last update carries (usage, finish reason, the latent-compute figures of
/// <see cref="K"/>) into the wire's <c>usage</c> object and finish-reason spelling.
/// </summary>
internal static class UsageReader
{
    /// <summary>stop, length, tool_calls, content_filter as OpenAI spells them; cancelled for a cancelled generation.</summary>
    public static string FinishReasonOf(ChatFinishReason? reason) => reason?.Value ?? "stop";

    public static WireUsage? UsageOf(ChatResponseUpdate last)
    {
        var usage = last.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
        if (usage is null)
        {
            return null;
        }

        int prompt = (int)(usage.InputTokenCount ?? 0);
        int completion = (int)(usage.OutputTokenCount ?? 0);
        var figures = last.AdditionalProperties;
        LatentCompute? latent = figures is null ? null : new LatentCompute
        {
            MeanRecurrenceSteps = Number(figures, K.MeanSteps),
            MaxRecurrenceSteps = (long)Number(figures, K.MaxSteps),
            TotalRecurrenceSteps = (long)Number(figures, K.TotalSteps),
            CapHitShare = Number(figures, K.CapHitShare),
            EffectiveFlops = Number(figures, K.EffectiveFlops),
            AppliedMaxSteps = (long)Number(figures, K.AppliedMaxSteps),
            ExitCriterion = figures.TryGetValue(K.ExitCriterion, out var c) ? c?.ToString() : null,
            ThinkingEffort = figures.TryGetValue(K.ThinkingEffort, out var e) ? e?.ToString() : null,
            DepthSource = figures.TryGetValue(K.DepthSource, out var d) ? d?.ToString() : null,
        };
        return new WireUsage(prompt, completion, prompt + completion, latent);
    }

    private static double Number(AdditionalPropertiesDictionary figures, string key) =>
        figures.TryGetValue(key, out var value) && value is not null ? Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
}
