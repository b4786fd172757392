using System.Text.Json;
using Microsoft.Extensions.AI;
using RecurrentDepth.Generation;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Maps response formats to the engine's <see cref="OutputConstraint"/>: OpenAI's <c>response_format</c> JSON (for
/// servers that speak the OpenAI protocol), MEAI's <see cref="ChatResponseFormat"/>, and the values SK settings take.
/// </summary>
public static class OpenAIResponseFormat
{
    /// <summary>
    /// Maps an OpenAI <c>response_format</c> object: <c>{"type":"text"}</c> → null (free text),
    /// <c>{"type":"json_object"}</c> → any JSON, <c>{"type":"json_schema","json_schema":{"schema":{...}}}</c> → that schema.
    /// </summary>
    /// <param name="responseFormat">The <c>response_format</c> value of a chat completions request.</param>
    /// <returns>The constraint, or null for free text.</returns>
    /// <exception cref="ArgumentException">The object is not one of the three forms; <see cref="ArgumentException.ParamName"/> is <c>response_format</c>.</exception>
    public static OutputConstraint? ToConstraint(JsonElement responseFormat)
    {
        if (responseFormat.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }

        if (responseFormat.ValueKind != JsonValueKind.Object || !responseFormat.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw Invalid("response_format must be an object with a string 'type' (text, json_object or json_schema).");
        }

        switch (type.GetString())
        {
            case "text":
                return null;
            case "json_object":
                return new OutputConstraint { Kind = OutputConstraintKind.Json };
            case "json_schema":
                if (!responseFormat.TryGetProperty("json_schema", out var wrapper) || wrapper.ValueKind != JsonValueKind.Object
                    || !wrapper.TryGetProperty("schema", out var schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
                {
                    throw Invalid("response_format of type json_schema needs json_schema.schema, a JSON Schema object.");
                }

                return new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = schema.GetRawText() };
            default:
                throw Invalid($"response_format type '{type.GetString()}' is unknown; expected text, json_object or json_schema.");
        }
    }

    /// <summary>Maps MEAI's <see cref="ChatResponseFormat"/>: text → null, JSON without a schema → any JSON, with one → that schema.</summary>
    public static OutputConstraint? ToConstraint(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatJson { Schema: { } schema } => new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = schema.GetRawText() },
        ChatResponseFormatJson => new OutputConstraint { Kind = OutputConstraintKind.Json },
        _ => null,
    };

    /// <summary>
    /// Maps an SK <c>ResponseFormat</c> setting: null or "text" → null; "json_object" → any JSON; a .NET
    /// <see cref="Type"/> → the JSON Schema of that type; a schema as JSON text, <see cref="JsonElement"/> or
    /// <see cref="Microsoft.SemanticKernel.KernelJsonSchema"/>; an OpenAI <c>response_format</c> object; or a <see cref="ChatResponseFormat"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The value is none of those; <see cref="ArgumentException.ParamName"/> is <c>response_format</c>.</exception>
    public static OutputConstraint? FromSetting(object? responseFormat)
    {
        switch (responseFormat)
        {
            case null:
                return null;
            case ChatResponseFormat format:
                return ToConstraint(format);
            case Type type:
                return new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = AIJsonUtilities.CreateJsonSchema(type).GetRawText() };
            case Microsoft.SemanticKernel.KernelJsonSchema kernelSchema:
                return new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = kernelSchema.RootElement.GetRawText() };
            case JsonElement element when element.ValueKind == JsonValueKind.String:
                return FromSetting(element.GetString());
            case JsonElement element:
                return element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var t) && t.GetString() is "text" or "json_object" or "json_schema"
                    ? ToConstraint(element)
                    : new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = element.GetRawText() };
            case string text when text is "text" or "":
                return null;
            case string text when text == "json_object":
                return new OutputConstraint { Kind = OutputConstraintKind.Json };
            case string text when text.TrimStart().StartsWith('{'):
                using (var document = ParseSchema(text))
                {
                    return FromSetting(document.RootElement.Clone());
                }

            default:
                throw Invalid($"response_format '{responseFormat}' is not supported; use \"json_object\", a Type, or a JSON Schema.");
        }
    }

    private static JsonDocument ParseSchema(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw Invalid($"response_format is not valid JSON: {e.Message}");
        }
    }

    private static ArgumentException Invalid(string message) => new(message, "response_format");
}
