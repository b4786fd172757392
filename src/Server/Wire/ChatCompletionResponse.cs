using System.Text.Json.Serialization;

namespace RecurrentDepth.Server.Wire;

/// <summary>A non-streaming answer (<c>"object": "chat.completion"</c>).</summary>
internal sealed record ChatCompletion(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChoice> Choices,
    [property: JsonPropertyName("usage")] WireUsage? Usage)
{
    [JsonPropertyName("object")] public string Object => "chat.completion";
}

/// <summary>The one choice of a non-streaming answer.</summary>
internal sealed record CompletionChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] AssistantMessage Message,
    [property: JsonPropertyName("finish_reason")] string FinishReason)
{
    [JsonPropertyName("logprobs")] public object? Logprobs => null;
}

/// <summary>The assistant's message: its text and any tool calls.</summary>
internal sealed record AssistantMessage(
    [property: JsonPropertyName("content")] string? Content,
    [property: JsonPropertyName("tool_calls")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<WireToolCall>? ToolCalls)
{
    [JsonPropertyName("role")] public string Role => "assistant";

    [JsonPropertyName("refusal")] public string? Refusal => null;
}

/// <summary>One Server-Sent Event of a streaming answer (<c>"object": "chat.completion.chunk"</c>).</summary>
internal sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChunkChoice> Choices,
    [property: JsonPropertyName("usage")] WireUsage? Usage)
{
    [JsonPropertyName("object")] public string Object => "chat.completion.chunk";
}

/// <summary>The one choice of a chunk: a delta, and the finish reason on the last one.</summary>
internal sealed record ChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChunkDelta Delta,
    [property: JsonPropertyName("finish_reason")] string? FinishReason)
{
    [JsonPropertyName("logprobs")] public object? Logprobs => null;
}

/// <summary>What a chunk adds: the role (first chunk), text, or tool calls.</summary>
internal sealed record ChunkDelta(
    [property: JsonPropertyName("role")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonPropertyName("content")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonPropertyName("tool_calls")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<WireToolCall>? ToolCalls = null);

/// <summary>
/// Token counts as OpenAI reports them, plus <see cref="LatentCompute"/>: what the answer cost in recurrence,
/// the quantity thinking effort buys on a recurrent-depth model.
/// </summary>
internal sealed record WireUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens,
    [property: JsonPropertyName("latent_compute")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LatentCompute? LatentCompute);

/// <summary>The <c>usage.latent_compute</c> object: recurrence spent on the generated tokens.</summary>
internal sealed record LatentCompute
{
    /// <summary>Mean recurrence steps per generated token.</summary>
    [JsonPropertyName("mean_recurrence_steps")] public double MeanRecurrenceSteps { get; init; }

    /// <summary>Most steps any generated token ran.</summary>
    [JsonPropertyName("max_recurrence_steps")] public long MaxRecurrenceSteps { get; init; }

    /// <summary>Steps summed over the generated tokens.</summary>
    [JsonPropertyName("total_recurrence_steps")] public long TotalRecurrenceSteps { get; init; }

    /// <summary>Share (0..1) of tokens that ran to the cap without converging.</summary>
    [JsonPropertyName("cap_hit_share")] public double CapHitShare { get; init; }

    /// <summary>Approximate forward FLOPs of the whole answer (prompt and generated tokens).</summary>
    [JsonPropertyName("effective_flops")] public double EffectiveFlops { get; init; }

    /// <summary>The step cap applied.</summary>
    [JsonPropertyName("applied_max_steps")] public long AppliedMaxSteps { get; init; }

    /// <summary>The exit criterion applied (none, kl, ...).</summary>
    [JsonPropertyName("exit_criterion")] public string? ExitCriterion { get; init; }

    /// <summary>The effort applied; null when <c>recurrence_steps</c> set the depth.</summary>
    [JsonPropertyName("thinking_effort")] public string? ThinkingEffort { get; init; }

    /// <summary>What set the depth: recurrence_steps, thinking_effort, reasoning_effort or default.</summary>
    [JsonPropertyName("depth_source")] public string? DepthSource { get; init; }
}
