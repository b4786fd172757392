using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Reads effort settings given as objects rather than strings: OpenAI's <c>ChatReasoningEffortLevel</c> (what
/// <c>OpenAIPromptExecutionSettings.ReasoningEffort</c> documents), MEAI's <c>ReasoningEffort</c> enum, or any value
/// whose string form is an effort. JSON would write such a struct as <c>{}</c> and lose it, so the value is turned
/// into its string form first; a string form that is no effort then fails like any unknown spelling.
/// </summary>
internal static class EffortSettingValues
{
    /// <summary>The settings whose values are effort spellings.</summary>
    public static readonly string[] Keys = ["thinking_effort", "reasoning_effort"];

    /// <summary>The string form of an effort value; null stays null.</summary>
    public static string? ToText(object? value) => value switch
    {
        null => null,
        string text => text,
        JsonElement { ValueKind: JsonValueKind.String } element => element.GetString(),
        JsonElement element => element.GetRawText(),
        JsonValue node when node.TryGetValue(out string? text) => text,
        JsonNode node => node.ToJsonString(),
        ThinkingEffort effort when Enum.IsDefined(effort) => ThinkingEffortNames.ToSettingValue(effort),
        _ => value.ToString(),
    };

    /// <summary>Replaces each effort key's object value in <paramref name="values"/> by its string form.</summary>
    public static void Normalize(IDictionary<string, object?> values)
    {
        foreach (var key in Keys)
        {
            if (values.TryGetValue(key, out var value) && value is not null && !IsJsonPrimitive(value))
            {
                values[key] = ToText(value);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="settings"/> (any connector's settings type) as a JSON object whose effort keys hold the
    /// string form of the value found in the typed property or <c>ExtensionData</c>, not the value's JSON form.
    /// </summary>
    public static JsonObject ToJsonObject(Microsoft.SemanticKernel.PromptExecutionSettings settings, JsonSerializerOptions options)
    {
        var json = JsonSerializer.SerializeToNode(settings, settings.GetType(), options) as JsonObject ?? [];
        foreach (var key in Keys)
        {
            object? value = TypedProperty(settings, key);
            if (value is null && settings.ExtensionData?.TryGetValue(key, out var extra) == true)
            {
                value = extra;
            }

            if (value is not null && !IsJsonPrimitive(value))
            {
                json[key] = ToText(value);
            }
        }

        return json;
    }

    private static object? TypedProperty(object settings, string key)
    {
        foreach (var property in settings.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0 && property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name == key)
            {
                return property.GetValue(settings);
            }
        }

        return null;
    }

    private static bool IsJsonPrimitive(object value) =>
        value is string or bool or int or long or double or float or decimal or short or byte or uint or ulong
            || value is JsonElement { ValueKind: JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False }
            || (value is JsonValue node && node.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False);
}
