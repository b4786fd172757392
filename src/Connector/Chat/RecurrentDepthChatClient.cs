using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RecurrentDepth.Engine;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// An <see cref="IChatClient"/> over an in-process recurrent-depth model. Thinking effort is latent compute: choose it
/// with <see cref="ReasoningOptions.Effort"/> (<see cref="ChatOptions.Reasoning"/>) or the snake_case keys of
/// <see cref="ChatOptions.AdditionalProperties"/> (<c>thinking_effort</c>, <c>recurrence_steps</c>, ...; see
/// <see cref="RecurrentDepthPromptExecutionSettings"/> for every key and the precedence).
/// </summary>
/// <remarks>
/// Responses carry <see cref="ChatResponse.Usage"/> with the token counts and the latent-compute figures in
/// <see cref="UsageDetails.AdditionalCounts"/>, and the exact figures in <see cref="ChatResponse.AdditionalProperties"/>
/// (keys in <see cref="RecurrenceMetadataKeys"/>). Streaming and non-streaming responses carry the same text and usage:
/// <see cref="GetResponseAsync"/> aggregates the stream. When streaming, the last update carries the usage (as
/// <see cref="UsageContent"/>), the finish reason and the figures in its <see cref="ChatResponseUpdate.AdditionalProperties"/>.
/// <see cref="ChatOptions.Tools"/> (functions) are offered to the model in the prompt and its turn is constrained to
/// text or one call (<see cref="ChatToolMode.RequireAny"/>: a call only), which comes back as
/// <see cref="FunctionCallContent"/>; <see cref="ChatOptions.ResponseFormat"/> constrains the turn to JSON or a JSON
/// Schema. See docs/tools.md.
/// </remarks>
public sealed class RecurrentDepthChatClient : IChatClient
{
    private readonly GenerationRunner _runner;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Creates a client over <paramref name="engine"/>.</summary>
    /// <param name="engine">The model (usually the hosted <c>ModelHost</c> of RecurrentDepth.Core); not owned: disposing the client leaves it running.</param>
    /// <param name="options">Defaults, effort profiles and resilience settings; null uses <see cref="RecurrentDepthOptions"/>' defaults.</param>
    /// <param name="loggerFactory">Reserved for warnings; null logs nothing.</param>
    /// <param name="timeProvider">Clock of the deadlines and the fallback delay; null uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="engine"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> are invalid; the message names each invalid option.</exception>
    public RecurrentDepthChatClient(IInferenceEngine engine, RecurrentDepthOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _runner = new GenerationRunner(engine, options ?? new RecurrentDepthOptions(), timeProvider);
        _metadata = new ChatClientMetadata(RecurrentDepthTelemetry.ProviderName, providerUri: null, defaultModelId: engine.ModelId);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A setting is invalid; <see cref="ArgumentException.ParamName"/> is its snake_case name.</exception>
    /// <exception cref="EngineQueueFullException">The engine's queue is full and effort fallback is off or exhausted.</exception>
    /// <exception cref="ModelNotReadyException">The model failed to load or has stopped, also while generating this response (a request sent during loading waits for it).</exception>
    /// <exception cref="TimeoutException">A deadline of <see cref="RecurrentDepthOptions"/> passed.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        if (response.FinishReason?.Value == ModelStoppedError.CancelledFinishReason)
        {
            throw ModelStoppedError.Create(_runner.Engine.ModelId, response.Usage?.OutputTokenCount ?? 0);
        }

        if (updates.Count > 0 && updates[^1].AdditionalProperties is { } figures)
        {
            // The figures describe the whole response, so they belong on it (aggregation keeps them per message).
            response.AdditionalProperties = new AdditionalPropertiesDictionary(figures);
        }

        return response;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A setting is invalid; <see cref="ArgumentException.ParamName"/> is its snake_case name.</exception>
    /// <exception cref="EngineQueueFullException">The engine's queue is full and effort fallback is off or exhausted.</exception>
    /// <exception cref="ModelNotReadyException">The model failed to load or has stopped (a request sent during loading waits for it).</exception>
    /// <exception cref="TimeoutException">A deadline of <see cref="RecurrentDepthOptions"/> passed.</exception>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var tools = RequestMapper.ToolsFrom(options);
        var format = OpenAIResponseFormat.ToConstraint(options?.ResponseFormat);
        var turns = RequestMapper.ToTurns(messages, options?.Instructions);
        var plan = RequestMapper.Map(tools is null ? turns : tools.AddTo(turns), RequestMapper.FromChatOptions(options), _runner.Options,
            tools is null ? format : tools.Constraint(format));
        string responseId = $"rd-{Guid.NewGuid():N}";
        var createdAt = DateTimeOffset.UtcNow;
        // With tools, a turn that starts with '{' is a call: it is held back and parsed once complete.
        System.Text.StringBuilder? held = null;
        bool started = false;
        await foreach (var step in _runner.RunAsync(plan, cancellationToken).ConfigureAwait(false))
        {
            var delta = step.TextDelta;
            if (tools is not null && !started && delta.Length > 0)
            {
                started = true;
                held = delta.TrimStart().StartsWith('{') ? new System.Text.StringBuilder() : null;
            }

            if (held is not null)
            {
                held.Append(delta);
                delta = "";
            }

            if (delta.Length == 0 && step.Outcome is null)
            {
                continue;
            }

            var update = new ChatResponseUpdate(ChatRole.Assistant, delta.Length == 0 ? [] : [new TextContent(delta)])
            {
                ResponseId = responseId,
                MessageId = responseId,
                ModelId = _runner.Engine.ModelId,
                CreatedAt = createdAt,
            };
            if (step.Outcome is { } outcome)
            {
                update.FinishReason = outcome.ChatFinishReason;
                if (held is not null)
                {
                    if (tools!.TryParseCall(held.ToString(), out var name, out var arguments))
                    {
                        update.Contents.Add(new FunctionCallContent($"call_{Guid.NewGuid():N}", name, arguments));
                        update.FinishReason = ChatFinishReason.ToolCalls;
                    }
                    else
                    {
                        update.Contents.Add(new TextContent(held.ToString()));
                    }
                }

                update.Contents.Add(new UsageContent(outcome.ToUsage()));
                update.AdditionalProperties = new AdditionalPropertiesDictionary(outcome.ToFigures());
            }

            yield return update;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Answers <see cref="ChatClientMetadata"/> (provider <see cref="RecurrentDepthTelemetry.ProviderName"/>, the model
    /// id), the <see cref="IInferenceEngine"/>, and this client, for unkeyed requests.
    /// </remarks>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType == typeof(IInferenceEngine) ? _runner.Engine
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Disposes this client's meter; the engine is owned by its host and keeps running.</summary>
    public void Dispose() => _runner.Dispose();
}
