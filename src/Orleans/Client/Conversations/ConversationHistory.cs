namespace RecurrentDepth.Orleans.Conversations;

/// <summary>How a turn's messages join the stored history.</summary>
public static class ConversationHistory
{
    /// <summary>
    /// The history a turn runs on: <paramref name="stored"/> followed by the messages of <paramref name="incoming"/> that
    /// are new. Two kinds of caller are understood. One that keeps no history (MEAI with <c>ConversationId</c>, Agent
    /// Framework's service-managed threads) sends only the new messages, plus its instructions as leading system
    /// messages on every call: leading system messages equal to the stored ones are not repeated. One that keeps its own
    /// history (SK's <c>ChatHistory</c>) resends everything: when <paramref name="incoming"/> starts with the whole stored
    /// history, only the rest is new.
    /// </summary>
    /// <param name="stored">The stored history, oldest first.</param>
    /// <param name="incoming">The messages the caller sent with the turn.</param>
    /// <returns>The history to render for the turn (stored messages first, unchanged).</returns>
    public static IReadOnlyList<ConversationMessage> Merge(IReadOnlyList<ConversationMessage> stored, IReadOnlyList<ConversationMessage> incoming)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(incoming);
        int skip = StartsWith(incoming, stored) ? stored.Count : RepeatedSystemPrefix(stored, incoming);
        var merged = new List<ConversationMessage>(stored.Count + incoming.Count - skip);
        merged.AddRange(stored);
        for (int i = skip; i < incoming.Count; i++)
        {
            merged.Add(incoming[i]);
        }

        return merged;
    }

    private static bool StartsWith(IReadOnlyList<ConversationMessage> list, IReadOnlyList<ConversationMessage> prefix)
    {
        if (prefix.Count == 0 || list.Count < prefix.Count)
        {
            return false;
        }

        for (int i = 0; i < prefix.Count; i++)
        {
            if (list[i] != prefix[i])
            {
                return false;
            }
        }

        return true;
    }

    private static int RepeatedSystemPrefix(IReadOnlyList<ConversationMessage> stored, IReadOnlyList<ConversationMessage> incoming)
    {
        int n = 0;
        while (n < stored.Count && n < incoming.Count && stored[n].Role == "system" && incoming[n] == stored[n])
        {
            n++;
        }

        return n;
    }
}
