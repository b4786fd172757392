using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel;

/// <summary>Reads the latent-compute figures of a response, whichever client below produced them.</summary>
internal static class ResponseCompute
{
    /// <summary>The share of unconverged tokens: the exact property when present, else the whole-number counts; null when not reported.</summary>
    public static double? UnconvergedShare(ChatResponse response)
    {
        if (Number(response.AdditionalProperties, K.UnconvergedShare) is double share)
        {
            return share;
        }

        if (response.Usage?.AdditionalCounts is { } counts && counts.TryGetValue(K.UnconvergedTokens, out long unconverged))
        {
            long output = response.Usage.OutputTokenCount ?? 0;
            return output == 0 ? 0 : (double)unconverged / output;
        }

        return null;
    }

    public static long Count(ChatResponse response, string key) =>
        response.Usage?.AdditionalCounts is { } counts && counts.TryGetValue(key, out long value) ? value
        : Number(response.AdditionalProperties, key) is double exact ? (long)exact
        : 0;

    public static double Flops(ChatResponse response) =>
        Number(response.AdditionalProperties, K.EffectiveFlops) ?? Count(response, K.EffectiveFlops);

    private static double? Number(AdditionalPropertiesDictionary? properties, string key)
    {
        if (properties is null || !properties.TryGetValue(key, out object? value))
        {
            return null;
        }

        return value switch
        {
            null => null,
            JsonElement { ValueKind: JsonValueKind.Number } json => json.GetDouble(),
            IConvertible convertible and not string => convertible.ToDouble(CultureInfo.InvariantCulture),
            _ => null,
        };
    }
}
