using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RecurrentDepth.Engine;
using RecurrentDepth.Orleans.Conversations;
using RecurrentDepth.Orleans.Hosting;
using RecurrentDepth.Orleans.Placement;

namespace Orleans.Hosting;

/// <summary>Makes an Orleans silo a recurrent-depth model host.</summary>
public static class RecurrentDepthSiloBuilderExtensions
{
    /// <summary>
    /// Hosts this library's model in the silo (<c>AddRecurrentDepthModel</c>: one engine per silo, loaded in the
    /// background, options from the <c>RecurrentDepth</c> section then <paramref name="configureEngine"/>), the
    /// conversation grain, headroom placement (<see cref="HeadroomPlacementStrategy"/>) with the per-silo load service it
    /// reads, and serialization of the contract's types. Conversations are stored in the grain storage provider named
    /// <see cref="RecurrentDepthSiloOptions.StorageProviderName"/>, which the caller registers.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configureEngine">Adjusts the model's options (model path, device, batch, queue).</param>
    /// <param name="configureSilo">Adjusts placement settings.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static ISiloBuilder AddRecurrentDepthSilo(this ISiloBuilder builder, Action<EngineOptions>? configureEngine = null, Action<RecurrentDepthSiloOptions>? configureSilo = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddRecurrentDepthModel(configureEngine);
        services.AddOptions<RecurrentDepthSiloOptions>().Validate(static o => o.Validate() is not null).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RecurrentDepthSiloOptions>, SiloOptionsBinder>());
        if (configureSilo is not null)
        {
            services.Configure(configureSilo);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SiloConversations>();
        services.TryAddSingleton<IEngineLoadServiceClient, EngineLoadServiceClient>();
        builder.AddGrainService<EngineLoadService>();
        builder.AddPlacementDirector<HeadroomPlacementStrategy, HeadroomPlacementDirector>();
        services.AddContractSerialization();
        return builder;
    }

    /// <summary>
    /// As <see cref="AddRecurrentDepthSilo(ISiloBuilder, Action{EngineOptions}?, Action{RecurrentDepthSiloOptions}?)"/>,
    /// with the model's options bound from <paramref name="section"/> (e.g. <c>configuration.GetSection("RecurrentDepth")</c>).
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="section">The section holding the model's options.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static ISiloBuilder AddRecurrentDepthSilo(this ISiloBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        builder.AddRecurrentDepthSilo();
        builder.Services.Configure<EngineOptions>(section);
        return builder;
    }

}
