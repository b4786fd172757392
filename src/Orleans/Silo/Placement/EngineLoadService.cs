using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime.Services;
using RecurrentDepth.Engine;
using RecurrentDepth.Orleans.Conversations;

namespace RecurrentDepth.Orleans.Placement;

/// <summary>Answers the silo's load from its engine's <see cref="IInferenceEngine.CurrentLoad"/> snapshot (cheap, any thread).</summary>
[Reentrant]
internal sealed class EngineLoadService(GrainId id, Silo silo, ILoggerFactory loggers, IInferenceEngine engine, SiloConversations conversations)
    : GrainService(id, silo, loggers), IEngineLoadService
{
    public Task<SiloLoadReport> GetLoadAsync() =>
        Task.FromResult(SiloLoadReport.From(engine.State, engine.CurrentLoad, conversations.Active));
}

/// <summary>Addresses the <see cref="IEngineLoadService"/> of one silo.</summary>
internal sealed class EngineLoadServiceClient(IServiceProvider services) : GrainServiceClient<IEngineLoadService>(services), IEngineLoadServiceClient
{
    public IEngineLoadService On(SiloAddress silo) => GetGrainService(silo);
}
