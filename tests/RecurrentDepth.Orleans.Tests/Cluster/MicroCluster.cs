using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;
using RecurrentDepth.Engine;
using RecurrentDepth.Orleans.Client;
using RecurrentDepth.Orleans.Hosting;

namespace RecurrentDepth.Orleans.Tests.Cluster;

/// <summary>
/// Orleans' in-process test cluster: three silos, each hosting the bundled micro model, conversations in a store that
/// outlives silos; plus the client side registered as an app would (DI only) and a single in-process host for reference.
/// </summary>
public sealed class MicroCluster : IAsyncLifetime
{
    private ServiceProvider? _clientServices;
    private IHost? _reference;

    public TestCluster Cluster { get; private set; } = null!;

    /// <summary>The app's container: the cluster client plus <c>AddRecurrentDepthClusterChatClient</c>.</summary>
    public IServiceProvider ClientServices => _clientServices!;

    public IChatClient Chat => ClientServices.GetRequiredService<IChatClient>();

    public ConversationClient Conversations => ClientServices.GetRequiredService<ConversationClient>();

    /// <summary>A fresh single host of the same model (the in-process registration), for expected texts.</summary>
    public IChatClient Reference => _reference!.Services.GetRequiredService<IChatClient>();

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(3);
        builder.AddSiloBuilderConfigurator<SiloSetup>();
        builder.AddClientBuilderConfigurator<ClientSetup>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        foreach (var silo in Cluster.Silos)
        {
            // Placement prefers silos whose engine serves: start every test with all three loaded.
            await ((InProcessSiloHandle)silo).SiloHost.Services.GetRequiredService<ModelHost>().WhenLoaded;
        }

        var services = new ServiceCollection();
        services.AddSingleton<IGrainFactory>(Cluster.Client);
        services.AddRecurrentDepthClusterChatClient();
        _clientServices = services.BuildServiceProvider();

        var reference = Host.CreateApplicationBuilder();
        reference.Services.AddRecurrentDepthModel(MicroModel.Configure);
        reference.Services.AddRecurrentDepthChatClient();
        _reference = reference.Build();
        await _reference.StartAsync();
        await _reference.Services.GetRequiredService<ModelHost>().WhenLoaded;
    }

    public async Task DisposeAsync()
    {
        string clusterId = Cluster.Options.ClusterId;
        if (_reference is not null)
        {
            await _reference.StopAsync();
            _reference.Dispose();
        }

        if (_clientServices is not null)
        {
            await _clientServices.DisposeAsync();
        }

        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        SharedGrainStore.Forget(clusterId);
    }

    /// <summary>The silo handle whose address is <paramref name="address"/>.</summary>
    public SiloHandle Silo(string address) => Cluster.Silos.Single(s => s.SiloAddress.ToString() == address);

    /// <summary>Addresses of the silos other than the primary (the primary holds the test cluster's membership).</summary>
    public IReadOnlyList<string> SecondarySilos() => Cluster.SecondarySilos.Select(s => s.SiloAddress.ToString()).ToArray();

    private sealed class SiloSetup : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddRecurrentDepthSilo(MicroModel.Configure);
            siloBuilder.Services.AddGrainStorage(RecurrentDepthSiloOptions.StorageProviderName, static (sp, _) => new SharedGrainStorage(
                SharedGrainStore.For(sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ClusterId), sp.GetRequiredService<Serializer>()));
        }
    }

    private sealed class ClientSetup : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.AddRecurrentDepthClient();
    }
}
