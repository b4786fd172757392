using System.Text.Json;
using System.Text.Json.Serialization;

namespace RecurrentDepth.Server.Wire;

/// <summary>
/// The body of <c>POST /v1/chat/completions</c> as OpenAI clients send it, plus this project's extra body fields
/// (<c>thinking_effort</c>, <c>recurrence_steps</c>, <c>exit_criterion</c>, <c>exit_threshold</c>, ...). Unknown
/// fields are ignored, as OpenAI-compatible servers do. Fields whose JSON form varies (<c>content</c>, <c>stop</c>,
/// <c>response_format</c>, <c>tool_choice</c>) stay as <see cref="JsonElement"/> and are read by the translator,
/// which names the field in its errors.
/// </summary>
internal sealed class ChatCompletionRequest
{
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("messages")] public List<WireMessage>? Messages { get; set; }
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; set; }
    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; set; }
    [JsonPropertyName("temperature")] public double? Temperature { get; set; }
    [JsonPropertyName("top_p")] public double? TopP { get; set; }
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    [JsonPropertyName("stop")] public JsonElement? Stop { get; set; }
    [JsonPropertyName("n")] public int? N { get; set; }
    [JsonPropertyName("stream")] public bool? Stream { get; set; }
    [JsonPropertyName("stream_options")] public WireStreamOptions? StreamOptions { get; set; }
    [JsonPropertyName("reasoning_effort")] public string? ReasoningEffort { get; set; }
    [JsonPropertyName("reasoning")] public WireReasoning? Reasoning { get; set; }
    [JsonPropertyName("response_format")] public JsonElement? ResponseFormat { get; set; }
    [JsonPropertyName("tools")] public List<WireTool>? Tools { get; set; }
    [JsonPropertyName("tool_choice")] public JsonElement? ToolChoice { get; set; }

    // This project's extra body fields (OpenAI SDKs send them through their "extra body" mechanisms).
    [JsonPropertyName("thinking_effort")] public string? ThinkingEffort { get; set; }
    [JsonPropertyName("recurrence_steps")] public int? RecurrenceSteps { get; set; }
    [JsonPropertyName("min_recurrence_steps")] public int? MinRecurrenceSteps { get; set; }
    [JsonPropertyName("exit_criterion")] public string? ExitCriterion { get; set; }
    [JsonPropertyName("exit_threshold")] public double? ExitThreshold { get; set; }
    [JsonPropertyName("ignore_eos")] public bool? IgnoreEos { get; set; }
}

/// <summary>One chat message: role, content (a string, or an array of text parts), and tool-call fields.</summary>
internal sealed class WireMessage
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    [JsonPropertyName("content")] public JsonElement? Content { get; set; }
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("tool_calls")] public List<WireToolCall>? ToolCalls { get; set; }
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; set; }
}

/// <summary><c>stream_options</c>.</summary>
internal sealed class WireStreamOptions
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; set; }
}

/// <summary>The <c>reasoning: {"effort": ...}</c> object form of the effort.</summary>
internal sealed class WireReasoning
{
    [JsonPropertyName("effort")] public string? Effort { get; set; }
}

/// <summary>A tool the model may call (<c>{"type":"function","function":{...}}</c>).</summary>
internal sealed class WireTool
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("function")] public WireFunction? Function { get; set; }
}

/// <summary>A function declaration: name, description and JSON Schema of its parameters.</summary>
internal sealed class WireFunction
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("description")] public string? Description { get; set; }
    [JsonPropertyName("parameters")] public JsonElement? Parameters { get; set; }
}

/// <summary>A tool call, in an assistant message (request) or in a response.</summary>
internal sealed class WireToolCall
{
    [JsonPropertyName("index")][JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Index { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("type")] public string? Type { get; set; } = "function";
    [JsonPropertyName("function")] public WireFunctionCall? Function { get; set; }
}

/// <summary>The function of a tool call: its name and its arguments as a JSON string.</summary>
internal sealed class WireFunctionCall
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("arguments")] public string? Arguments { get; set; }
}
