namespace RecurrentDepth.Orleans.Conversations;

/// <summary>What a conversation grain holds: its stored messages and where it runs.</summary>
/// <param name="Messages">The stored history, oldest first (every completed turn's new messages and its answer).</param>
/// <param name="Silo">Address of the silo the grain is active on.</param>
/// <param name="CompletedTurns">Turns answered and stored.</param>
[GenerateSerializer, Immutable, Alias("RecurrentDepth.Orleans.ConversationSnapshot")]
public sealed record ConversationSnapshot(
    [property: Id(0)] IReadOnlyList<ConversationMessage> Messages,
    [property: Id(1)] string Silo,
    [property: Id(2)] int CompletedTurns);
