using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Placement;
using RecurrentDepth.Orleans.Hosting;

namespace RecurrentDepth.Orleans.Placement;

/// <summary>
/// The director of <see cref="HeadroomPlacementStrategy"/>: asks every compatible silo for its load (in parallel, each
/// answer bounded by <see cref="RecurrentDepthSiloOptions.LoadQueryTimeout"/>) and places the activation on the one
/// <see cref="HeadroomRanking"/> chooses. A silo that does not answer in time is left out; when none answers, a random
/// compatible silo is used, so placement never waits on a dying silo.
/// </summary>
internal sealed class HeadroomPlacementDirector(
    IEngineLoadServiceClient loads,
    IOptions<RecurrentDepthSiloOptions> options,
    TimeProvider time,
    ILogger<HeadroomPlacementDirector> logger) : IPlacementDirector
{
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        if (silos.Length == 1)
        {
            return silos[0];
        }

        var timeout = options.Value.LoadQueryTimeout;
        var asked = await Task.WhenAll(silos.Select(s => AskAsync(s, timeout))).ConfigureAwait(false);
        var answered = asked.Where(a => a.Report is not null).ToArray();
        if (answered.Length == 0)
        {
            logger.LogWarning("No silo reported its load within {Timeout}; placing {Grain} on a random compatible silo.", timeout, target.GrainIdentity);
            return silos[Random.Shared.Next(silos.Length)];
        }

        int chosen = HeadroomRanking.Choose(answered.Select(a => a.Report!).ToArray(), options.Value.HeadroomTolerance);
        return answered[chosen].Silo;
    }

    private async Task<(SiloAddress Silo, SiloLoadReport? Report)> AskAsync(SiloAddress silo, TimeSpan timeout)
    {
        try
        {
            return (silo, await loads.On(silo).GetLoadAsync().WaitAsync(timeout, time).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Silo {Silo} did not report its load; leaving it out of this placement.", silo);
            return (silo, null);
        }
    }
}
