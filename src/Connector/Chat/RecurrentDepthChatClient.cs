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
/// Tool calling is not available: a request that requires a tool call (<see cref="ChatToolMode.RequireAny"/>, a
/// required specific function) fails with <see cref="NotSupportedException"/>; tools merely offered are ignored, with
/// one warning per client.
/// </remarks>
public sealed class RecurrentDepthChatClient : IChatClient
{
    private readonly GenerationRunner _runner;
    private readonly ChatClientMetadata _metadata;
    private readonly ToolChoiceGuard _tools;

    /// <summary>Creates a client over <paramref name="engine"/>.</summary>
    /// <param name="engine">The model (usually the hosted <c>ModelHost</c> of RecurrentDepth.Core); not owned: disposing the client leaves it running.</param>
    /// <param name="options">Defaults, effort profiles and resilience settings; null uses <see cref="RecurrentDepthOptions"/>' defaults.</param>
    /// <param name="loggerFactory">Logs warnings (tools offered but ignored); null logs nothing.</param>
    /// <exception cref="ArgumentNullException"><paramref name="engine"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> are invalid; the message names each invalid option.</exception>
    public RecurrentDepthChatClient(IInferenceEngine engine, RecurrentDepthOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _tools = new ToolChoiceGuard((loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RecurrentDepthChatClient>());
        _runner = new GenerationRunner(engine, options ?? new RecurrentDepthOptions());
        _metadata = new ChatClientMetadata(RecurrentDepthTelemetry.ProviderName, providerUri: null, defaultModelId: engine.ModelId);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A setting is invalid; <see cref="ArgumentException.ParamName"/> is its snake_case name.</exception>
    /// <exception cref="NotSupportedException">The request requires a tool call.</exception>
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
    /// <exception cref="NotSupportedException">The request requires a tool call.</exception>
    /// <exception cref="EngineQueueFullException">The engine's queue is full and effort fallback is off or exhausted.</exception>
    /// <exception cref="ModelNotReadyException">The model failed to load or has stopped (a request sent during loading waits for it).</exception>
    /// <exception cref="TimeoutException">A deadline of <see cref="RecurrentDepthOptions"/> passed.</exception>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        _tools.Check(options);
        var plan = RequestMapper.Map(RequestMapper.ToTurns(messages, options?.Instructions), RequestMapper.FromChatOptions(options), _runner.Options);
        string responseId = $"rd-{Guid.NewGuid():N}";
        var createdAt = DateTimeOffset.UtcNow;
        await foreach (var step in _runner.RunAsync(plan, cancellationToken).ConfigureAwait(false))
        {
            if (step.TextDelta.Length == 0 && step.Outcome is null)
            {
                continue;
            }

            var update = new ChatResponseUpdate(ChatRole.Assistant, step.TextDelta.Length == 0 ? [] : [new TextContent(step.TextDelta)])
            {
                ResponseId = responseId,
                MessageId = responseId,
                ModelId = _runner.Engine.ModelId,
                CreatedAt = createdAt,
            };
            if (step.Outcome is { } outcome)
            {
                update.FinishReason = outcome.ChatFinishReason;
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

    /// <summary>Does nothing: the engine is owned by its host.</summary>
    public void Dispose()
    {
    }
}
