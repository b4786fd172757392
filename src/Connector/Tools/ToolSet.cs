using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RecurrentDepth.Generation;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>One tool offered to the model: its name, description and parameter schema (a JSON Schema object).</summary>
internal sealed record ToolDefinition(string Name, string? Description, JsonElement Parameters);

/// <summary>How the model may use the tools: choose (auto), must call one (required), or must call the named one.</summary>
internal enum ToolChoice
{
    Auto,
    Required,
}

/// <summary>
/// The tools of one request as the huginn chat format carries them: a system turn that lists them, a constraint
/// that makes the model's turn either text or exactly one call <c>{"name": ..., "arguments": ...}</c> (only a call when
/// required), and the parsing of that call. See docs/tools.md for the exact rendering.
/// </summary>
internal sealed class ToolSet
{
    public ToolSet(IReadOnlyList<ToolDefinition> tools, ToolChoice choice)
    {
        if (tools.Count == 0)
        {
            throw SettingErrors.Invalid("tools", "Tool calling was requested with no tools.");
        }

        Tools = tools;
        Choice = choice;
    }

    public IReadOnlyList<ToolDefinition> Tools { get; }

    public ToolChoice Choice { get; }

    /// <summary>The system text that lists the tools and says how to call one.</summary>
    public string Instructions()
    {
        var text = new StringBuilder();
        text.Append(Choice == ToolChoice.Required
            ? "You must call one of the tools below. Reply with only a JSON object {\"name\": <tool name>, \"arguments\": <arguments object>}."
            : "You may call one of the tools below. To call one, reply with only a JSON object {\"name\": <tool name>, \"arguments\": <arguments object>}; otherwise reply with text.");
        text.Append("\nTools:");
        foreach (var tool in Tools)
        {
            var entry = new JsonObject { ["name"] = tool.Name };
            if (!string.IsNullOrWhiteSpace(tool.Description))
            {
                entry["description"] = tool.Description;
            }

            entry["parameters"] = JsonNode.Parse(tool.Parameters.GetRawText());
            text.Append('\n').Append(entry.ToJsonString());
        }

        return text.ToString();
    }

    /// <summary>Puts <see cref="Instructions"/> into the conversation: appended to a leading system turn, or as a new one.</summary>
    public List<ChatTurn> AddTo(IReadOnlyList<ChatTurn> turns)
    {
        var result = turns.ToList();
        if (result.Count > 0 && result[0].Role == "system")
        {
            result[0] = new ChatTurn("system", result[0].Content.TrimEnd() + "\n\n" + Instructions());
        }
        else
        {
            result.Insert(0, new ChatTurn("system", Instructions()));
        }

        return result;
    }

    /// <summary>
    /// The constraint of the model's turn: a call to one of the tools, or (auto) text; with a response format, the
    /// answer must match it instead of being free text.
    /// </summary>
    public OutputConstraint Constraint(OutputConstraint? responseFormat)
    {
        var calls = new JsonArray();
        foreach (var tool in Tools)
        {
            calls.Add(new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["name"] = new JsonObject { ["const"] = tool.Name },
                    ["arguments"] = JsonNode.Parse(tool.Parameters.GetRawText()),
                },
                ["required"] = new JsonArray("name", "arguments"),
                ["additionalProperties"] = false,
            });
        }

        if (Choice == ToolChoice.Auto && responseFormat is { } format)
        {
            // The answer is JSON too: a call or a value of the response format.
            calls.Add(format.Kind == OutputConstraintKind.JsonSchema ? JsonNode.Parse(format.Schema!) : new JsonObject());
            return new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = new JsonObject { ["anyOf"] = calls }.ToJsonString() };
        }

        var schema = calls.Count == 1 ? calls[0]!.ToJsonString() : new JsonObject { ["anyOf"] = calls }.ToJsonString();
        return new OutputConstraint { Kind = Choice == ToolChoice.Required ? OutputConstraintKind.JsonSchema : OutputConstraintKind.JsonSchemaOrText, Schema = schema };
    }

    /// <summary>Reads a call from the model's whole turn: a JSON object naming one of the tools, with an arguments object.</summary>
    public bool TryParseCall(string text, out string name, out Dictionary<string, object?> arguments)
    {
        name = "";
        arguments = [];
        if (!text.TrimStart().StartsWith('{'))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("arguments", out var args) || args.ValueKind != JsonValueKind.Object
                || !Tools.Any(t => t.Name == n.GetString()))
            {
                return false;
            }

            name = n.GetString()!;
            foreach (var property in args.EnumerateObject())
            {
                arguments[property.Name] = property.Value.Clone();
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>How an earlier call of the model is written back into its turn.</summary>
    public static string RenderCall(string name, IDictionary<string, object?>? arguments) =>
        new JsonObject { ["name"] = name, ["arguments"] = JsonSerializer.SerializeToNode(arguments ?? new Dictionary<string, object?>()) }.ToJsonString();

    /// <summary>How a tool's result is written into a <c>tool</c> turn.</summary>
    public static string RenderResult(string? name, object? result)
    {
        JsonNode? value;
        try
        {
            value = result is JsonElement element ? JsonNode.Parse(element.GetRawText()) : JsonSerializer.SerializeToNode(result);
        }
        catch (NotSupportedException)
        {
            value = result?.ToString();
        }

        return new JsonObject { ["name"] = name, ["result"] = value }.ToJsonString();
    }
}
