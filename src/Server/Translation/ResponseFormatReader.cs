using System.Text.Json;
using Microsoft.Extensions.AI;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Translation;

/// <summary>
/// Reads OpenAI's <c>response_format</c> into <see cref="ChatOptions.ResponseFormat"/>: <c>text</c>,
/// <c>json_object</c>, and <c>json_schema</c> (with its schema, name and description). Whether the model honours it
/// is the chat client's business (constrained decoding, or a clear error where it is not supported).
/// </summary>
internal static class ResponseFormatReader
{
    public static ChatResponseFormat? Read(JsonElement? format)
    {
        if (format is not { ValueKind: not JsonValueKind.Null } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw ApiError.BadRequest("response_format", "response_format must be an object with a string 'type': text, json_object or json_schema.");
        }

        switch (type.GetString())
        {
            case "text":
                return ChatResponseFormat.Text;
            case "json_object":
                return ChatResponseFormat.Json;
            case "json_schema":
                if (!value.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object ||
                    !spec.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    throw ApiError.BadRequest("response_format.json_schema", "response_format of type json_schema needs json_schema.schema, a JSON Schema object.");
                }

                return ChatResponseFormat.ForJsonSchema(schema.Clone(), StringOf(spec, "name"), StringOf(spec, "description"));
            default:
                throw ApiError.BadRequest("response_format.type", $"response_format.type '{type.GetString()}' is not one of text, json_object, json_schema.");
        }
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
