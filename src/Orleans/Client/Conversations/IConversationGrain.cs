namespace RecurrentDepth.Orleans.Conversations;

/// <summary>
/// A conversation, keyed by its id: holds the messages (in the grain storage provider named <c>recurrent-depth</c>)
/// and runs every turn on the engine of the silo it is active on, so that engine's prefix cache serves the next turn.
/// New conversations are placed on the silo with the most headroom (RecurrentDepth.Orleans' headroom placement); an
/// active one stays where it is while its silo lives.
/// </summary>
[Alias("RecurrentDepth.Orleans.IConversationGrain")]
public interface IConversationGrain : IGrainWithStringKey
{
    /// <summary>
    /// Runs one turn: appends <see cref="ConversationTurn.NewMessages"/> to the stored history, generates the answer on
    /// this silo's engine and streams it. The turn (its messages and the answer) is stored before the last update, the
    /// one with the summary, is sent; a turn that fails, is cancelled or is abandoned stores nothing, so retrying it is safe.
    /// </summary>
    /// <exception cref="ConversationBusyException">Another turn of this conversation is still streaming.</exception>
    [Alias("RunTurn")]
    IAsyncEnumerable<ConversationUpdate> RunTurnAsync(ConversationTurn turn, CancellationToken cancellationToken = default);

    /// <summary>The stored messages and the silo the conversation is active on.</summary>
    [Alias("GetSnapshot")]
    Task<ConversationSnapshot> GetSnapshotAsync();
}
