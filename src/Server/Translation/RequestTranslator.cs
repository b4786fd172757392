using System.Text.Json;
using Microsoft.Extensions.AI;
using RecurrentDepth.Server.Hosting;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Translation;

/// <summary>
/// Turns an OpenAI chat-completions body into MEAI messages and <see cref="ChatOptions"/>. Checks what only the
/// server knows (the server's limits, <c>n</c>, the model name, message shapes) and names the field in every error;
/// everything else (effort spellings, sampling ranges, exit criteria) is left to the connector, whose
/// <see cref="ArgumentException.ParamName"/> is already the snake_case field name.
/// </summary>
internal static class RequestTranslator
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <exception cref="ApiError">The request is invalid (400, naming the field) or names another model (404).</exception>
    public static TranslatedRequest Translate(ChatCompletionRequest request, ServerOptions limits, string modelId)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!string.IsNullOrEmpty(request.Model) && !string.Equals(request.Model, modelId, StringComparison.Ordinal))
        {
            throw new ApiError(StatusCodes.Status404NotFound, $"The model '{request.Model}' does not exist; this server serves '{modelId}'.", ApiError.InvalidRequest, "model", "model_not_found");
        }

        if (request.N is int n && n != 1)
        {
            throw ApiError.BadRequest("n", $"n must be 1 (got {n}): this server returns one choice per request.");
        }

        var messages = TranslateMessages(request.Messages, limits.MaxMessages);
        var options = new ChatOptions
        {
            ModelId = modelId,
            Temperature = (float?)request.Temperature,
            TopP = (float?)request.TopP,
            Seed = request.Seed,
            MaxOutputTokens = MaxTokens(request, limits.MaxTokens),
            StopSequences = StopSequences(request.Stop),
            ResponseFormat = ResponseFormatReader.Read(request.ResponseFormat),
            AdditionalProperties = [],
        };
        ToolReader.Apply(request.Tools, request.ToolChoice, options);

        // Effort and depth travel as the connector's own snake_case keys, so its parsing and error names apply.
        string? reasoning = request.ReasoningEffort ?? request.Reasoning?.Effort;
        var extra = options.AdditionalProperties;
        AddIfSet(extra, "reasoning_effort", reasoning);
        AddIfSet(extra, "thinking_effort", request.ThinkingEffort);
        AddIfSet(extra, "exit_criterion", request.ExitCriterion);
        if (request.RecurrenceSteps is int steps)
        {
            if (steps > limits.MaxRecurrenceSteps)
            {
                throw ApiError.BadRequest("recurrence_steps", $"recurrence_steps must be at most {limits.MaxRecurrenceSteps} on this server (got {steps}).");
            }

            extra["recurrence_steps"] = steps;
        }

        AddIfSet(extra, "min_recurrence_steps", request.MinRecurrenceSteps);
        AddIfSet(extra, "exit_threshold", request.ExitThreshold);
        AddIfSet(extra, "ignore_eos", request.IgnoreEos);

        string requested = request.RecurrenceSteps is int s ? $"steps={s}" : request.ThinkingEffort ?? reasoning ?? "default";
        bool stream = request.Stream ?? false;
        return new TranslatedRequest(messages, options, stream, stream && request.StreamOptions?.IncludeUsage == true, requested);
    }

    private static void AddIfSet(AdditionalPropertiesDictionary extra, string key, object? value)
    {
        if (value is not null)
        {
            extra[key] = value;
        }
    }

    private static int? MaxTokens(ChatCompletionRequest request, int cap)
    {
        var (field, value) = request.MaxCompletionTokens is int completion ? ("max_completion_tokens", completion) : ("max_tokens", request.MaxTokens ?? 0);
        if (request.MaxCompletionTokens is null && request.MaxTokens is null)
        {
            return null;
        }

        if (value < 1)
        {
            throw ApiError.BadRequest(field, $"{field} must be at least 1 (got {value}).");
        }

        if (value > cap)
        {
            throw ApiError.BadRequest(field, $"{field} must be at most {cap} on this server (got {value}).");
        }

        return value;
    }

    private static List<string>? StopSequences(JsonElement? stop)
    {
        switch (stop)
        {
            case null:
            case { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.String } one:
                return [one.GetString()!];
            case { ValueKind: JsonValueKind.Array } many:
                var list = new List<string>();
                foreach (var item in many.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        throw ApiError.BadRequest("stop", "stop must be a string or an array of strings.");
                    }

                    list.Add(item.GetString()!);
                }

                return list.Count > 4 ? throw ApiError.BadRequest("stop", $"stop may hold at most 4 sequences (got {list.Count}).") : list;
            default:
                throw ApiError.BadRequest("stop", "stop must be a string or an array of strings.");
        }
    }

    private static List<ChatMessage> TranslateMessages(List<WireMessage>? wire, int maxMessages)
    {
        if (wire is null || wire.Count == 0)
        {
            throw ApiError.BadRequest("messages", "messages is required and must hold at least one message.", "missing_required_parameter");
        }

        if (wire.Count > maxMessages)
        {
            throw ApiError.BadRequest("messages", $"messages may hold at most {maxMessages} messages on this server (got {wire.Count}).", "too_many_messages");
        }

        var messages = new List<ChatMessage>(wire.Count);
        for (int i = 0; i < wire.Count; i++)
        {
            var message = wire[i] ?? throw ApiError.BadRequest($"messages[{i}]", $"messages[{i}] must be an object.");
            string role = message.Role ?? throw ApiError.BadRequest($"messages[{i}].role", $"messages[{i}].role is required.", "missing_required_parameter");
            if (!Roles.Contains(role))
            {
                throw ApiError.BadRequest($"messages[{i}].role", $"messages[{i}].role '{role}' is not one of system, developer, user, assistant, tool.");
            }

            var contents = new List<AIContent>();
            string text = ContentText(message.Content, $"messages[{i}].content");
            if (role == "tool")
            {
                contents.Add(new FunctionResultContent(message.ToolCallId ?? "", text));
            }
            else if (text.Length > 0)
            {
                contents.Add(new TextContent(text));
            }

            foreach (var call in message.ToolCalls ?? [])
            {
                contents.Add(ToolReader.ToFunctionCall(call, $"messages[{i}].tool_calls"));
            }

            // OpenAI's "developer" role is the newer name of "system".
            messages.Add(new ChatMessage(role == "developer" ? ChatRole.System : new ChatRole(role), contents) { AuthorName = message.Name });
        }

        return messages;
    }

    /// <summary>A string, or the concatenated text of an array of <c>{"type":"text","text":...}</c> parts.</summary>
    private static string ContentText(JsonElement? content, string field)
    {
        switch (content)
        {
            case null:
            case { ValueKind: JsonValueKind.Null }:
                return "";
            case { ValueKind: JsonValueKind.String } text:
                return text.GetString()!;
            case { ValueKind: JsonValueKind.Array } parts:
                var joined = new System.Text.StringBuilder();
                int j = 0;
                foreach (var part in parts.EnumerateArray())
                {
                    string type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
                    if (type != "text" || !part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
                    {
                        throw ApiError.BadRequest($"{field}[{j}]", $"{field}[{j}] must be a text part ({{\"type\":\"text\",\"text\":\"...\"}}); got type '{type}'. This model reads text only.");
                    }

                    joined.Append(partText.GetString());
                    j++;
                }

                return joined.ToString();
            default:
                throw ApiError.BadRequest(field, $"{field} must be a string or an array of text parts.");
        }
    }
}
