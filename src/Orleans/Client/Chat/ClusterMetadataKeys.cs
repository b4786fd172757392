namespace RecurrentDepth.Orleans.Client;

/// <summary>Keys of the cluster's figures in <c>ChatResponse.AdditionalProperties</c> (beside the connector's latent-compute figures).</summary>
public static class ClusterMetadataKeys
{
    /// <summary>Address of the silo whose engine answered the turn (string).</summary>
    public const string Silo = "orleans_silo";

    /// <summary>Prompt tokens whose KV entries came from that engine's prefix cache instead of being prefilled (int; also <c>UsageDetails.CachedInputTokenCount</c>).</summary>
    public const string CachedInputTokens = "cached_input_tokens";
}
