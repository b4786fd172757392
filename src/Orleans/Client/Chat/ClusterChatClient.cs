using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using RecurrentDepth.SemanticKernel;

namespace RecurrentDepth.Orleans.Client;

/// <summary>
/// An <see cref="IChatClient"/> whose conversations live on an Orleans cluster of model hosts: the same settings,
/// figures and errors as <see cref="RecurrentDepthChatClient"/> (it runs that client over each conversation), plus
/// conversation affinity. The conversation is <see cref="ChatOptions.ConversationId"/>; without one a new conversation
/// is started and its id returned in <see cref="ChatResponse.ConversationId"/> (and on every streamed update). Send
/// the id with the next turn and only the new messages: the grain holds the history (a caller that resends the whole
/// history is understood too, see <see cref="Conversations.ConversationHistory.Merge"/>).
/// </summary>
/// <remarks>
/// Each response also reports the silo that answered (<see cref="ClusterMetadataKeys.Silo"/>) and the prompt tokens
/// its prefix cache served (<see cref="UsageDetails.CachedInputTokenCount"/> and
/// <see cref="ClusterMetadataKeys.CachedInputTokens"/>). A turn whose silo went away throws
/// <see cref="ConversationInterruptedException"/>; sending it again is safe.
/// </remarks>
public sealed class ClusterChatClient : IChatClient
{
    private readonly ConversationClient _conversations;
    private readonly RecurrentDepthOptions _options;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Creates the client.</summary>
    /// <param name="conversations">The cluster's conversations.</param>
    /// <param name="options">Effort defaults and resilience settings of the chat surface; null uses the defaults.</param>
    public ClusterChatClient(ConversationClient conversations, RecurrentDepthOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(conversations);
        _conversations = conversations;
        _options = options ?? new RecurrentDepthOptions();
        _metadata = new ChatClientMetadata(RecurrentDepthTelemetry.ProviderName, providerUri: null, defaultModelId: conversations.Options.ModelId);
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var engine = new ConversationEngine(_conversations, ResolveConversationId(options));
        using var turn = new RecurrentDepthChatClient(engine, _options);
        var response = await turn.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        response.ConversationId = engine.ConversationId;
        if (engine.Summary is { } summary && response.Usage is { } usage)
        {
            response.AdditionalProperties ??= [];
            Annotate(engine, summary, usage, response.AdditionalProperties);
        }

        return response;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var engine = new ConversationEngine(_conversations, ResolveConversationId(options));
        using var turn = new RecurrentDepthChatClient(engine, _options);
        await foreach (var update in turn.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            update.ConversationId = engine.ConversationId;
            if (engine.Summary is { } summary && update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage)
            {
                update.AdditionalProperties ??= [];
                Annotate(engine, summary, usage.Details, update.AdditionalProperties);
            }

            yield return update;
        }
    }

    /// <inheritdoc />
    /// <remarks>Answers <see cref="ChatClientMetadata"/>, the <see cref="ConversationClient"/>, and this client, for unkeyed requests.</remarks>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType == typeof(ConversationClient) ? _conversations
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    private static string ResolveConversationId(ChatOptions? options) =>
        string.IsNullOrWhiteSpace(options?.ConversationId) ? $"rdc-{Guid.NewGuid():N}" : options.ConversationId;

    /// <summary>Adds what the cluster knows to the connector's figures: the serving silo and the cached prompt tokens.</summary>
    private static void Annotate(ConversationEngine engine, Engine.GenerationSummary summary, UsageDetails usage, AdditionalPropertiesDictionary figures)
    {
        usage.CachedInputTokenCount = summary.CachedInputTokens;
        figures[ClusterMetadataKeys.Silo] = engine.Silo;
        figures[ClusterMetadataKeys.CachedInputTokens] = summary.CachedInputTokens;
    }

    /// <summary>Does nothing: the cluster client is owned by its host.</summary>
    public void Dispose()
    {
    }
}
