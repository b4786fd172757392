namespace RecurrentDepth.Orleans.Conversations;

/// <summary>
/// Raised by a conversation grain whose silo began shutting down while it was answering a turn: the turn is cancelled
/// at once (rather than drained, since its answer could not be stored from a silo that is leaving) and not stored.
/// Clients see it as <see cref="Client.ConversationInterruptedException"/>.
/// </summary>
[GenerateSerializer, Alias("RecurrentDepth.Orleans.SiloStoppingException")]
public sealed class SiloStoppingException : Exception
{
    /// <summary>Creates the exception for the turn of <paramref name="conversationId"/> on <paramref name="silo"/>.</summary>
    public SiloStoppingException(string conversationId, string silo)
        : base($"Silo {silo} is shutting down; the turn of conversation '{conversationId}' was cancelled and not stored.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public SiloStoppingException() : base("The silo is shutting down.") { }

    /// <summary>Creates the exception with a message.</summary>
    public SiloStoppingException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public SiloStoppingException(string message, Exception innerException) : base(message, innerException) { }
}
