using Orleans.Services;

namespace RecurrentDepth.Orleans.Placement;

/// <summary>The per-silo service that publishes the silo's <see cref="SiloLoadReport"/> (one on every silo).</summary>
[Alias("RecurrentDepth.Orleans.IEngineLoadService")]
public interface IEngineLoadService : IGrainService
{
    /// <summary>The silo's current load.</summary>
    [Alias("GetLoad")]
    Task<SiloLoadReport> GetLoadAsync();
}

/// <summary>Reaches the <see cref="IEngineLoadService"/> of a given silo.</summary>
public interface IEngineLoadServiceClient : IGrainServiceClient<IEngineLoadService>
{
    /// <summary>The service on <paramref name="silo"/>.</summary>
    IEngineLoadService On(SiloAddress silo);
}
