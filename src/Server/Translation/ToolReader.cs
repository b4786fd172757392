using System.Text.Json;
using Microsoft.Extensions.AI;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Translation;

/// <summary>
/// Reads OpenAI's <c>tools</c> / <c>tool_choice</c> into <see cref="ChatOptions.Tools"/> (declarations only: the
/// server never invokes a function, the caller does) and <see cref="ChatOptions.ToolMode"/>, and an assistant
/// message's <c>tool_calls</c> into <see cref="FunctionCallContent"/>.
/// </summary>
internal static class ToolReader
{
    public static void Apply(List<WireTool>? tools, JsonElement? toolChoice, ChatOptions options)
    {
        if (tools is { Count: > 0 })
        {
            options.Tools = [];
            for (int i = 0; i < tools.Count; i++)
            {
                var tool = tools[i];
                string field = $"tools[{i}]";
                if (tool?.Type != "function" || tool.Function?.Name is not { Length: > 0 } name)
                {
                    throw ApiError.BadRequest(field, $"{field} must be {{\"type\":\"function\",\"function\":{{\"name\":...}}}} with a non-empty name.");
                }

                var schema = tool.Function.Parameters is { ValueKind: JsonValueKind.Object } parameters
                    ? parameters.Clone()
                    : JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();
                options.Tools.Add(AIFunctionFactory.CreateDeclaration(name, tool.Function.Description, schema));
            }
        }

        options.ToolMode = toolChoice switch
        {
            null or { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } s when s.GetString() == "auto" => ChatToolMode.Auto,
            { ValueKind: JsonValueKind.String } s when s.GetString() == "none" => ChatToolMode.None,
            { ValueKind: JsonValueKind.String } s when s.GetString() == "required" => ChatToolMode.RequireAny,
            { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object &&
                f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String => ChatToolMode.RequireSpecific(n.GetString()!),
            _ => throw ApiError.BadRequest("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}."),
        };
    }

    public static FunctionCallContent ToFunctionCall(WireToolCall call, string field)
    {
        if (call?.Function?.Name is not { Length: > 0 } name)
        {
            throw ApiError.BadRequest(field, $"Every entry of {field} needs function.name.");
        }

        Dictionary<string, object?>? arguments = null;
        if (!string.IsNullOrWhiteSpace(call.Function.Arguments))
        {
            try
            {
                arguments = JsonSerializer.Deserialize<Dictionary<string, object?>>(call.Function.Arguments);
            }
            catch (JsonException)
            {
                throw ApiError.BadRequest(field, $"A tool call's function.arguments in {field} is not a JSON object.");
            }
        }

        return new FunctionCallContent(call.Id ?? "", name, arguments);
    }
}
