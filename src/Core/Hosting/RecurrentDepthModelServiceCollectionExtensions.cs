using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RecurrentDepth.Engine;
using RecurrentDepth.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Hosts a recurrent-depth model in-process.</summary>
public static class RecurrentDepthModelServiceCollectionExtensions
{
    /// <summary>Name of the model's health check.</summary>
    public const string HealthCheckName = "recurrent-depth-model";

    /// <summary>
    /// Hosts a recurrent-depth model in-process: <see cref="EngineOptions"/> (bound from the configuration section
    /// <c>RecurrentDepth</c> when the container has an <see cref="IConfiguration"/>, then <paramref name="configure"/>;
    /// validated when the host starts), <see cref="ModelHost"/> as a singleton that is also the
    /// <see cref="IInferenceEngine"/> and a hosted service (it loads the model in the background), and the
    /// <see cref="ModelHealthCheck"/> named <see cref="HealthCheckName"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Adjusts the options after configuration binding.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRecurrentDepthModel(this IServiceCollection services, Action<EngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<EngineOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<EngineOptions>, EngineOptionsFromConfiguration>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

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
    /// Hosts a recurrent-depth model in-process with <see cref="EngineOptions"/> bound from <paramref name="section"/>
    /// (e.g. <c>configuration.GetSection("RecurrentDepth")</c>); otherwise as
    /// <see cref="AddRecurrentDepthModel(IServiceCollection, Action{EngineOptions}?)"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="section">The configuration section holding the model's options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRecurrentDepthModel(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddRecurrentDepthModel();
        services.Configure<EngineOptions>(section);
        return services;
    }

    private sealed class ModelHealthCheckMarker;
}
