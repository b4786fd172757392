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
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        if (updates.Count > 0 && updates[^1].AdditionalProperties is { } figures)
        {
            response.AdditionalProperties = new AdditionalPropertiesDictionary(figures);
        }

        return response;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string conversationId = string.IsNullOrWhiteSpace(options?.ConversationId) ? $"rdc-{Guid.NewGuid():N}" : options.ConversationId;
        var engine = new ConversationEngine(_conversations, conversationId);
        using var turn = new RecurrentDepthChatClient(engine, _options);
        await foreach (var update in turn.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            update.ConversationId = conversationId;
            if (engine.Summary is { } summary && update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage)
            {
                usage.Details.CachedInputTokenCount = summary.CachedInputTokens;
                update.AdditionalProperties ??= [];
                update.AdditionalProperties[ClusterMetadataKeys.Silo] = engine.Silo;
                update.AdditionalProperties[ClusterMetadataKeys.CachedInputTokens] = summary.CachedInputTokens;
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

    /// <summary>Does nothing: the cluster client is owned by its host.</summary>
    public void Dispose()
    {
    }
}
