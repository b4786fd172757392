using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Services;
using RecurrentDepth.Engine;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Semantic Kernel chat completion over an in-process recurrent-depth model, written directly over the engine (not
/// through the MEAI bridge, which drops efforts such as <c>none</c> and <c>minimal</c>). Accepts
/// <see cref="RecurrentDepthPromptExecutionSettings"/> or any other settings, converted with
/// <see cref="RecurrentDepthPromptExecutionSettings.FromExecutionSettings"/> (so OpenAI's <c>reasoning_effort</c> works).
/// </summary>
/// <remarks>
/// Each message's <see cref="KernelContent.Metadata"/> carries <see cref="RecurrenceMetadataKeys.Usage"/> (a
/// <c>Microsoft.Extensions.AI.UsageDetails</c>), <see cref="RecurrenceMetadataKeys.FinishReason"/> and the latent-compute
/// figures under the other <see cref="RecurrenceMetadataKeys"/>. When streaming, they come on the last chunk, which has
/// no text. Function calling is not available: <see cref="FunctionChoiceBehavior.Required"/> fails with
/// <see cref="NotSupportedException"/>; with <see cref="FunctionChoiceBehavior.Auto"/> the functions are not offered
/// to the model, with one warning per service.
/// </remarks>
public sealed class RecurrentDepthChatCompletionService : IChatCompletionService
{
    private readonly GenerationRunner _runner;
    private readonly ToolChoiceGuard _tools;

    /// <summary>Creates the service over <paramref name="engine"/>.</summary>
    /// <param name="engine">The model (usually the hosted <c>ModelHost</c> of RecurrentDepth.Core); not owned.</param>
    /// <param name="options">Defaults, effort profiles and resilience settings; null uses <see cref="RecurrentDepthOptions"/>' defaults.</param>
    /// <param name="loggerFactory">Logs warnings (functions offered but ignored); null logs nothing.</param>
    /// <exception cref="ArgumentNullException"><paramref name="engine"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> are invalid; the message names each invalid option.</exception>
    public RecurrentDepthChatCompletionService(IInferenceEngine engine, RecurrentDepthOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _tools = new ToolChoiceGuard((loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RecurrentDepthChatCompletionService>());
        _runner = new GenerationRunner(engine, options ?? new RecurrentDepthOptions());
        Attributes = new Dictionary<string, object?> { [AIServiceExtensions.ModelIdKey] = engine.ModelId };
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, object?> Attributes { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A setting is invalid; <see cref="ArgumentException.ParamName"/> is its snake_case name.</exception>
    /// <exception cref="NotSupportedException">The settings require a function call (<see cref="FunctionChoiceBehavior.Required"/>).</exception>
    /// <exception cref="EngineQueueFullException">The engine's queue is full and effort fallback is off or exhausted.</exception>
    /// <exception cref="ModelNotReadyException">The model failed to load or has stopped, also while generating this response (a request sent during loading waits for it).</exception>
    /// <exception cref="TimeoutException">A deadline of <see cref="RecurrentDepthOptions"/> passed.</exception>
    public async Task<IReadOnlyList<ChatMessageContent>> GetChatMessageContentsAsync(
        ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, CancellationToken cancellationToken = default)
    {
        var plan = Plan(chatHistory, executionSettings);
        var text = new StringBuilder();
        GenerationOutcome? outcome = null;
        await foreach (var step in _runner.RunAsync(plan, cancellationToken).ConfigureAwait(false))
        {
            text.Append(step.TextDelta);
            outcome = step.Outcome ?? outcome;
        }

        if (outcome?.FinishReasonText == ModelStoppedError.CancelledFinishReason)
        {
            throw ModelStoppedError.Create(_runner.Engine.ModelId, outcome.Summary.OutputTokens);
        }

        return [new ChatMessageContent(AuthorRole.Assistant, text.ToString(), _runner.Engine.ModelId, metadata: Metadata(outcome))];
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A setting is invalid; <see cref="ArgumentException.ParamName"/> is its snake_case name.</exception>
    /// <exception cref="NotSupportedException">The settings require a function call (<see cref="FunctionChoiceBehavior.Required"/>).</exception>
    /// <exception cref="EngineQueueFullException">The engine's queue is full and effort fallback is off or exhausted.</exception>
    /// <exception cref="ModelNotReadyException">The model failed to load or has stopped (a request sent during loading waits for it).</exception>
    /// <exception cref="TimeoutException">A deadline of <see cref="RecurrentDepthOptions"/> passed.</exception>
    public async IAsyncEnumerable<StreamingChatMessageContent> GetStreamingChatMessageContentsAsync(
        ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var plan = Plan(chatHistory, executionSettings);
        await foreach (var step in _runner.RunAsync(plan, cancellationToken).ConfigureAwait(false))
        {
            if (step.TextDelta.Length == 0 && step.Outcome is null)
            {
                continue;
            }

            yield return new StreamingChatMessageContent(AuthorRole.Assistant, step.TextDelta, modelId: _runner.Engine.ModelId,
                metadata: step.Outcome is null ? null : Metadata(step.Outcome));
        }
    }

    private RequestPlan Plan(ChatHistory chatHistory, PromptExecutionSettings? executionSettings)
    {
        ArgumentNullException.ThrowIfNull(chatHistory);
        var settings = RecurrentDepthPromptExecutionSettings.FromExecutionSettings(executionSettings);
        _tools.Check(settings.FunctionChoiceBehavior);
        // Content is only the first text item; a message's text is all of them, as MEAI's ChatMessage.Text reads it.
        var turns = chatHistory.Select(m => new ChatTurn(m.Role.Label, string.Concat(m.Items.OfType<TextContent>().Select(t => t.Text)))).ToList();
        return RequestMapper.Map(turns, settings, _runner.Options);
    }

    private static Dictionary<string, object?>? Metadata(GenerationOutcome? outcome)
    {
        if (outcome is null)
        {
            return null;
        }

        var metadata = outcome.ToFigures();
        metadata[RecurrenceMetadataKeys.Usage] = outcome.ToUsage();
        metadata[RecurrenceMetadataKeys.FinishReason] = outcome.FinishReasonText;
        return metadata;
    }
}
