namespace RecurrentDepth.Orleans.Client;

/// <summary>Settings of the cluster client side (configuration section <c>RecurrentDepth:Cluster</c>).</summary>
public sealed class RecurrentDepthClusterOptions
{
    /// <summary>The configuration section: <c>RecurrentDepth:Cluster</c>.</summary>
    public const string SectionName = "RecurrentDepth:Cluster";

    /// <summary>Model id reported by the chat client (<c>ChatClientMetadata</c>, <c>ChatResponse.ModelId</c>). Default <c>recurrent-depth</c>.</summary>
    public string ModelId { get; set; } = "recurrent-depth";

    /// <summary>
    /// Longest wait for the next piece of a streaming turn. A turn whose silo died mid-stream ends with
    /// <see cref="ConversationInterruptedException"/> at the latest after this long, even where Orleans itself has not
    /// yet noticed. It must cover the prefill of the longest conversation. Default 60 seconds.
    /// </summary>
    public TimeSpan TurnStallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the setting.</summary>
    public RecurrentDepthClusterOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelId))
        {
            throw new ArgumentException($"{SectionName}:ModelId must not be empty.", nameof(ModelId));
        }

        if (TurnStallTimeout <= TimeSpan.Zero && TurnStallTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(TurnStallTimeout), TurnStallTimeout, $"{SectionName}:TurnStallTimeout must be positive (or infinite).");
        }

        return this;
    }
}
