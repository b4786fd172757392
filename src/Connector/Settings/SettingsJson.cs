using System.Text.Json;
using System.Text.Json.Serialization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>JSON options for converting foreign settings: permissive about numbers written as strings.</summary>
internal static class SettingsJson
{
    public static JsonSerializerOptions Write { get; } = new(JsonSerializerDefaults.General)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static JsonSerializerOptions Read { get; } = new(JsonSerializerDefaults.General)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>"$.recurrence_steps" → "recurrence_steps"; "$.stop_sequences[1]" → "stop_sequences".</summary>
    public static string SettingName(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "settings";
        }

        var name = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        int cut = name.IndexOfAny(['.', '[']);
        if (name.StartsWith("['", StringComparison.Ordinal))
        {
            int end = name.IndexOf("']", StringComparison.Ordinal);
            return end > 2 ? name[2..end] : "settings";
        }

        return cut > 0 ? name[..cut] : name.Length > 0 ? name : "settings";
    }
}

/// <summary>
/// Reads a string, or the text of a number or boolean; anything else (an object, an array) is an error, never a
/// silent default. Effort objects are turned into their string form before JSON sees them (<see cref="EffortSettingValues"/>).
/// </summary>
internal sealed class LenientStringJsonConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False:
                using (var doc = JsonDocument.ParseValue(ref reader))
                {
                    return doc.RootElement.GetRawText();
                }

            case JsonTokenType.Null:
                return null;
            default:
                throw new JsonException($"The value is a JSON {reader.TokenType}; expected a string such as \"high\".");
        }
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
