using System.Runtime.CompilerServices;
using RecurrentDepth.Engine;
using RecurrentDepth.Orleans.Conversations;

namespace RecurrentDepth.Orleans.Client;

/// <summary>
/// One call's view of a conversation as an <see cref="IInferenceEngine"/>, so the connector's chat client (settings
/// mapping, effort profiles, resilience, usage) runs over the cluster unchanged: the request's messages become the
/// turn's new messages. It remembers which silo answered and the summary, for the response's figures.
/// </summary>
internal sealed class ConversationEngine(ConversationClient conversations, string conversationId) : IInferenceEngine
{
    public string ConversationId => conversationId;

    public string? Silo { get; private set; }

    public GenerationSummary? Summary { get; private set; }

    public string ModelId => conversations.Options.ModelId;

    public EngineState State => EngineState.Ready;

    public string? FailureReason => null;

    // The cluster's queues live on the silos (placement reads them); the client holds none.
    public int QueueLength => 0;

    public int QueueCapacity => int.MaxValue;

    public EngineLoad CurrentLoad => new() { QueueCapacity = int.MaxValue };

    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var turn = new ConversationTurn(request.Messages.Select(ConversationMessage.From).ToArray(), request with { Messages = [] });
        await foreach (var update in conversations.RunTurnAsync(conversationId, turn, cancellationToken).ConfigureAwait(false))
        {
            Silo = update.Silo;
            Summary = update.Update.Summary ?? Summary;
            yield return update.Update;
        }
    }
}
