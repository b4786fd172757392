using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Orleans.Conversations;

/// <summary>One stored message of a conversation (the grain-state and wire form of <see cref="ChatTurn"/>).</summary>
/// <param name="Role">"system", "user", "assistant" or another role name, as the chat template renders it.</param>
/// <param name="Content">The message text.</param>
[GenerateSerializer, Immutable, Alias("RecurrentDepth.Orleans.ConversationMessage")]
public sealed record ConversationMessage([property: Id(0)] string Role, [property: Id(1)] string Content)
{
    /// <summary>The message as the engine's <see cref="ChatTurn"/>.</summary>
    public ChatTurn ToTurn() => new(Role, Content);

    /// <summary>The stored form of <paramref name="turn"/>.</summary>
    public static ConversationMessage From(ChatTurn turn)
    {
        ArgumentNullException.ThrowIfNull(turn);
        return new ConversationMessage(turn.Role, turn.Content);
    }
}
