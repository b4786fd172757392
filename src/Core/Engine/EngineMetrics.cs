using System.Diagnostics.Metrics;

namespace RecurrentDepth.Engine;

/// <summary>
/// Observable gauges of one engine's load and key/value memory, on the meter <see cref="MeterName"/> (collect it with
/// OpenTelemetry's <c>AddMeter("RecurrentDepth.Engine")</c>). Every instrument carries the tag <c>model</c>.
/// </summary>
public sealed class EngineMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "RecurrentDepth.Engine";

    private readonly Meter _meter;

    /// <summary>Publishes <paramref name="engine"/>'s gauges until disposed.</summary>
    public EngineMetrics(InferenceEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _meter = new Meter(MeterName);
        var tag = new KeyValuePair<string, object?>("model", engine.ModelId);
        _meter.CreateObservableGauge("recurrentdepth.engine.queue.length", () => new Measurement<int>(engine.QueueLength, tag), "{request}", "Requests waiting for admission.");
        _meter.CreateObservableGauge("recurrentdepth.engine.active_sequences", () => new Measurement<int>(engine.ActiveSequences, tag), "{sequence}", "Sequences being decoded.");
        _meter.CreateObservableGauge("recurrentdepth.engine.kv.reserved", () => new Measurement<long>(engine.KvReservedBytes, tag), "By",
            "Worst-case key/value bytes reserved by running sequences (against RecurrentDepth:KvCacheBudgetBytes).");
        _meter.CreateObservableGauge("recurrentdepth.engine.kv.blocks_free", () => new Measurement<int>(engine.CurrentLoad.KvBlocksFree, tag), "{block}",
            $"KV budget blocks ({InferenceEngine.KvBlockTokens} positions of one slot) not reserved; 0 without a budget.");
        _meter.CreateObservableGauge("recurrentdepth.engine.prefix_cache.size", () => new Measurement<long>(engine.PrefixCacheBytes, tag), "By",
            "Bytes held by the prefix cache of finished conversations.");
        _meter.CreateObservableGauge("recurrentdepth.engine.prefix_cache.entries", () => new Measurement<int>(engine.PrefixCacheEntries, tag), "{conversation}",
            "Finished conversations held by the prefix cache.");
        _meter.CreateObservableCounter("recurrentdepth.engine.prefilled_tokens", () => new Measurement<long>(engine.PrefilledTokens, tag), "{token}",
            "Prompt positions run through the model (a reused prefix is not counted).");
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
