using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel.ChatCompletion;
using Orleans;
using RecurrentDepth.Orleans.Client;
using RecurrentDepth.Orleans.Hosting;
using RecurrentDepth.SemanticKernel;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers the chat services over an Orleans cluster of recurrent-depth silos, in place of the in-process model
/// (<c>AddRecurrentDepthModel</c> + <c>AddRecurrentDepthChatClient</c>). The container needs Orleans'
/// <see cref="IGrainFactory"/>: an Orleans client (<c>UseOrleansClient</c>, with <c>AddRecurrentDepthClient</c> on its
/// builder) or a silo (<c>AddRecurrentDepthSilo</c>).
/// </summary>
public static class RecurrentDepthClusterServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ConversationClient"/> and a <see cref="ClusterChatClient"/> as <see cref="IChatClient"/>
    /// (keyed by <paramref name="serviceId"/> when given), with <see cref="RecurrentDepthClusterOptions"/> bound from
    /// <c>RecurrentDepth:Cluster</c> and the chat settings (<see cref="RecurrentDepthOptions"/>) from <c>RecurrentDepth</c>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="serviceId">Key of the registration; null registers the unkeyed <see cref="IChatClient"/>.</param>
    /// <returns>The builder of the client pipeline (add <c>.UseOpenTelemetry()</c> and other middleware to it).</returns>
    public static ChatClientBuilder AddRecurrentDepthClusterChatClient(this IServiceCollection services, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddClusterCore(services);
        return serviceId is null ? services.AddChatClient(CreateChatClient) : services.AddKeyedChatClient(serviceId, CreateChatClient);
    }

    /// <summary>
    /// Registers Semantic Kernel's <see cref="IChatCompletionService"/> over a <see cref="ClusterChatClient"/> (keyed by
    /// <paramref name="serviceId"/> when given); SK settings such as <c>thinking_effort</c> reach it as chat options.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="serviceId">Key of the registration; null registers the unkeyed service.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRecurrentDepthClusterChatCompletion(this IServiceCollection services, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddClusterCore(services);
        services.AddKeyedSingleton<IChatCompletionService>(serviceId, static (sp, _) => CreateChatClient(sp).AsChatCompletionService(sp));
        return services;
    }

    private static ClusterChatClient CreateChatClient(IServiceProvider sp) =>
        new(sp.GetRequiredService<ConversationClient>(), sp.GetRequiredService<IOptions<RecurrentDepthOptions>>().Value);

    private static void AddClusterCore(IServiceCollection services)
    {
        services.AddOptions<RecurrentDepthOptions>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RecurrentDepthOptions>, ChatOptionsBinder>());
        services.AddOptions<RecurrentDepthClusterOptions>().Validate(static o => o.Validate() is not null).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RecurrentDepthClusterOptions>, ClusterOptionsBinder>());
        services.TryAddSingleton(sp => new ConversationClient(
            sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<IOptions<RecurrentDepthClusterOptions>>(), sp.GetService<TimeProvider>()));
    }
}
