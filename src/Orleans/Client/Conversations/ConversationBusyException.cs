namespace RecurrentDepth.Orleans.Conversations;

/// <summary>Thrown when a turn arrives while another turn of the same conversation is still streaming.</summary>
[GenerateSerializer, Alias("RecurrentDepth.Orleans.ConversationBusyException")]
public sealed class ConversationBusyException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="conversationId"/>.</summary>
    public ConversationBusyException(string conversationId)
        : base($"Conversation '{conversationId}' is answering another turn; wait for it to finish (or cancel it) before sending the next one.")
        => ConversationId = conversationId;

    /// <summary>Creates the exception.</summary>
    public ConversationBusyException() : base("The conversation is answering another turn.") { }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public ConversationBusyException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The conversation.</summary>
    [Id(0)]
    public string? ConversationId { get; }
}
