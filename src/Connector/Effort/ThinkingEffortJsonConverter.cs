using System.Text.Json;
using System.Text.Json.Serialization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>Reads every spelling in <see cref="ThinkingEffortNames.AcceptedValues"/>; writes the canonical one.</summary>
internal sealed class ThinkingEffortJsonConverter : JsonConverter<ThinkingEffort>
{
    public override ThinkingEffort Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"A thinking effort must be a string; accepted values: {string.Join(", ", ThinkingEffortNames.AcceptedValues)}.");
        }

        var text = reader.GetString();
        return ThinkingEffortNames.TryParse(text, out var effort)
            ? effort
            : throw new JsonException(ThinkingEffortNames.UnknownMessage(text, "thinking_effort"));
    }

    public override void Write(Utf8JsonWriter writer, ThinkingEffort value, JsonSerializerOptions options) =>
        writer.WriteStringValue(ThinkingEffortNames.ToSettingValue(value));
}
