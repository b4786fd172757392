namespace RecurrentDepth.Orleans.Conversations;

/// <summary>The persisted state of a conversation grain: enough to rebuild the conversation (and its cache) on any silo.</summary>
[GenerateSerializer, Alias("RecurrentDepth.Orleans.ConversationState")]
public sealed class ConversationState
{
    /// <summary>The history, oldest first.</summary>
    [Id(0)]
    public List<ConversationMessage> Messages { get; set; } = [];

    /// <summary>Turns answered and stored.</summary>
    [Id(1)]
    public int CompletedTurns { get; set; }

    /// <summary>The silo that answered the last turn (informational: placement does not read it).</summary>
    [Id(2)]
    public string? LastSilo { get; set; }
}
