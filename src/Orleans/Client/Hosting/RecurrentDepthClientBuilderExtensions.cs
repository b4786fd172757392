using RecurrentDepth.Orleans.Hosting;

namespace Orleans.Hosting;

/// <summary>Prepares an Orleans client to talk to recurrent-depth silos.</summary>
public static class RecurrentDepthClientBuilderExtensions
{
    /// <summary>
    /// Registers serialization of the contract's types (requests, updates, summaries) so the client can run turns; then
    /// register the chat services with <c>services.AddRecurrentDepthClusterChatClient()</c>.
    /// </summary>
    /// <param name="builder">The Orleans client builder.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IClientBuilder AddRecurrentDepthClient(this IClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddContractSerialization();
        return builder;
    }
}
