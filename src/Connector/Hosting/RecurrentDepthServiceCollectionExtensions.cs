using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers recurrent-depth models and the chat services over them.</summary>
public static class RecurrentDepthServiceCollectionExtensions
{
    /// <summary>Name of the model's health check.</summary>
    public const string HealthCheckName = "recurrent-depth-model";

    /// <summary>
    /// Hosts a recurrent-depth model in-process: <see cref="RecurrentDepthOptions"/> (bound from the configuration
    /// section <c>RecurrentDepth</c> when the container has an <see cref="IConfiguration"/>, then
    /// <paramref name="configure"/>, validated when the host starts), <see cref="ModelHost"/> as a singleton that is
    /// also the <see cref="IInferenceEngine"/> and a hosted service (it loads the model in the background), and the
    /// <see cref="ModelHealthCheck"/> named <see cref="HealthCheckName"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adjusts the options after configuration binding.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRecurrentDepthModel(this IServiceCollection services, Action<RecurrentDepthOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddOptionsCore(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecurrentDepthOptions>, RecurrentDepthModelOptionsValidator>());
        services.TryAddSingleton<IOptions<EngineOptions>>(sp => Options.Options.Create(sp.GetRequiredService<IOptions<RecurrentDepthOptions>>().Value.ToEngineOptions()));
        services.TryAddSingleton(sp => new ModelHost(
            sp.GetRequiredService<IOptions<EngineOptions>>(),
            sp.GetService<ILogger<ModelHost>>() ?? NullLogger<ModelHost>.Instance));
        services.TryAddSingleton<IInferenceEngine>(sp => sp.GetRequiredService<ModelHost>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ModelHost>(sp => sp.GetRequiredService<ModelHost>()));
        if (!services.Any(d => d.ServiceType == typeof(ModelHealthCheckMarker)))
        {
            services.AddSingleton<ModelHealthCheckMarker>();
            services.AddHealthChecks().AddCheck<ModelHealthCheck>(HealthCheckName, HealthStatus.Unhealthy, ["recurrent-depth", "model"]);
        }

        return services;
    }

    /// <summary>
    /// Hosts a recurrent-depth model in-process with options bound from <paramref name="section"/> (e.g.
    /// <c>configuration.GetSection("RecurrentDepth")</c>); otherwise as <see cref="AddRecurrentDepthModel(IServiceCollection, Action{RecurrentDepthOptions}?)"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="section">The configuration section holding <see cref="RecurrentDepthOptions"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRecurrentDepthModel(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddRecurrentDepthModel();
        services.Configure<RecurrentDepthOptions>(section);
        return services;
    }

    /// <summary>
    /// Registers a <see cref="RecurrentDepthChatClient"/> over the registered <see cref="IInferenceEngine"/> as
    /// <see cref="IChatClient"/>, keyed by <paramref name="serviceId"/> when one is given, and returns the
    /// <see cref="ChatClientBuilder"/> so middleware can be added (<c>.UseOpenTelemetry()</c>, ...).
    /// </summary>
    /// <param name="services">The services; an <see cref="IInferenceEngine"/> must be registered (<see cref="AddRecurrentDepthModel(IServiceCollection, Action{RecurrentDepthOptions}?)"/> does).</param>
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
            new RecurrentDepthChatCompletionService(sp.GetRequiredService<IInferenceEngine>(), sp.GetRequiredService<IOptions<RecurrentDepthOptions>>().Value));
        return services;
    }

    private static IChatClient CreateChatClient(IServiceProvider sp) =>
        new RecurrentDepthChatClient(sp.GetRequiredService<IInferenceEngine>(), sp.GetRequiredService<IOptions<RecurrentDepthOptions>>().Value);

    private static void AddOptionsCore(IServiceCollection services)
    {
        services.AddOptions<RecurrentDepthOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RecurrentDepthOptions>, RecurrentDepthConfigureOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecurrentDepthOptions>, RecurrentDepthOptionsValidator>());
    }

    private sealed class ModelHealthCheckMarker;
}
