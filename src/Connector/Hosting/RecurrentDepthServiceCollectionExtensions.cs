using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the chat services over a recurrent-depth model (the model itself: <c>AddRecurrentDepthModel</c> of RecurrentDepth.Core).</summary>
public static class RecurrentDepthServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="RecurrentDepthChatClient"/> over the registered <see cref="IInferenceEngine"/> as
    /// <see cref="IChatClient"/>, keyed by <paramref name="serviceId"/> when one is given, and returns the
    /// <see cref="ChatClientBuilder"/> so middleware can be added (<c>.UseOpenTelemetry()</c>, ...).
    /// </summary>
    /// <param name="services">The services; an <see cref="IInferenceEngine"/> must be registered (<c>AddRecurrentDepthModel</c> of RecurrentDepth.Core does, or register your own).</param>
    /// <param name="serviceId">Key of the registration; null registers the unkeyed <see cref="IChatClient"/>.</param>
    /// <returns>The builder of the client pipeline.</returns>
    public static ChatClientBuilder AddRecurrentDepthChatClient(this IServiceCollection services, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptionsCore(services);
        return serviceId is null
            ? services.AddChatClient(CreateChatClient)
            : services.AddKeyedChatClient(serviceId, CreateChatClient);
    }

    /// <summary>
    /// Registers a <see cref="RecurrentDepthChatCompletionService"/> over the registered <see cref="IInferenceEngine"/>
    /// as Semantic Kernel's <see cref="IChatCompletionService"/>, keyed by <paramref name="serviceId"/> when one is given
    /// (as SK's own connectors do).
    /// </summary>
    /// <param name="services">The services; an <see cref="IInferenceEngine"/> must be registered.</param>
    /// <param name="serviceId">Key of the registration; null registers the unkeyed service.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRecurrentDepthChatCompletion(this IServiceCollection services, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptionsCore(services);
        services.AddKeyedSingleton<IChatCompletionService>(serviceId, static (sp, _) =>
            new RecurrentDepthChatCompletionService(sp.GetRequiredService<IInferenceEngine>(), sp.GetRequiredService<IOptions<RecurrentDepthOptions>>().Value, sp.GetService<ILoggerFactory>()));
        return services;
    }

    private static IChatClient CreateChatClient(IServiceProvider sp) =>
        new RecurrentDepthChatClient(sp.GetRequiredService<IInferenceEngine>(), sp.GetRequiredService<IOptions<RecurrentDepthOptions>>().Value, sp.GetService<ILoggerFactory>());

    private static void AddOptionsCore(IServiceCollection services)
    {
        services.AddOptions<RecurrentDepthOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RecurrentDepthOptions>, RecurrentDepthConfigureOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecurrentDepthOptions>, RecurrentDepthOptionsValidator>());
    }

}
