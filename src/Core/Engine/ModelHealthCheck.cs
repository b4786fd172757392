using Microsoft.Extensions.Diagnostics.HealthChecks;
using RecurrentDepth.Devices;

namespace RecurrentDepth.Engine;

/// <summary>
/// Health of the model core: Unhealthy while loading or after a failed load (with the reason), Degraded when the
/// request queue is at least 80% full, Healthy when serving.
/// </summary>
public sealed class ModelHealthCheck(IInferenceEngine engine) : IHealthCheck
{
    /// <summary>Queue fill fraction from which the check reports Degraded.</summary>
    public const double DegradedQueueFraction = 0.8;

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["model"] = engine.ModelId,
            ["state"] = engine.State.ToString(),
            ["queue_length"] = engine.QueueLength,
            ["queue_capacity"] = engine.QueueCapacity,
        };
        if (engine.State == EngineState.Ready)
        {
            var load = engine.CurrentLoad;
            data["active_sequences"] = load.ActiveSequences;
            data["kv_blocks_total"] = load.KvBlocksTotal;
            data["kv_blocks_free"] = load.KvBlocksFree;
            data["prefix_cache_bytes"] = load.PrefixCacheBytes;
        }

        // Which libtorch serves (folder, version found vs the one TorchSharp is built for): the first thing to check on a new machine.
        foreach (var (key, value) in LibTorchBackend.Loaded?.ToHealthData() ?? new Dictionary<string, object>())
        {
            data[key] = value;
        }

        var result = engine.State switch
        {
            EngineState.Loading => HealthCheckResult.Unhealthy($"Model '{engine.ModelId}' is loading.", data: data),
            EngineState.Faulted => HealthCheckResult.Unhealthy($"Model '{engine.ModelId}' failed to load: {engine.FailureReason}", data: data),
            EngineState.Stopped => HealthCheckResult.Unhealthy($"Model '{engine.ModelId}' has stopped.", data: data),
            _ when engine.QueueCapacity > 0 && engine.QueueLength >= DegradedQueueFraction * engine.QueueCapacity =>
                HealthCheckResult.Degraded($"Model '{engine.ModelId}' queue is {engine.QueueLength}/{engine.QueueCapacity}.", data: data),
            _ => HealthCheckResult.Healthy($"Model '{engine.ModelId}' is serving.", data: data),
        };
        return Task.FromResult(result);
    }
}
