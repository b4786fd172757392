namespace RecurrentDepth.Orleans.Client;

/// <summary>
/// Thrown when a turn could not finish because the silo answering it went away (stopped, died or stopped answering).
/// The turn was not stored, so sending it again is safe: the conversation is reactivated on a live silo from its stored
/// messages and answers there.
/// </summary>
public sealed class ConversationInterruptedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConversationInterruptedException(string conversationId, string? silo, int updatesReceived, string reason, Exception? innerException)
        : base($"The turn of conversation '{conversationId}' was interrupted after {updatesReceived} update(s)" +
               (silo is null ? "" : $" from silo {silo}") + $": {reason}. The turn was not stored; send it again to have it answered on a live silo.", innerException)
    {
        ConversationId = conversationId;
        Silo = silo;
        UpdatesReceived = updatesReceived;
    }

    /// <summary>Creates the exception.</summary>
    public ConversationInterruptedException() : base("The turn was interrupted.") { }

    /// <summary>Creates the exception with a message.</summary>
    public ConversationInterruptedException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public ConversationInterruptedException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The conversation.</summary>
    public string? ConversationId { get; }

    /// <summary>The silo that was answering, when an update had arrived from it.</summary>
    public string? Silo { get; }

    /// <summary>Updates received before the interruption.</summary>
    public int UpdatesReceived { get; }
}
