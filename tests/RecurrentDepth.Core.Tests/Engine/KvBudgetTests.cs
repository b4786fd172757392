using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;

namespace RecurrentDepth.Tests.Engine;

/// <summary>
/// Key/value budget admission: a request is admitted only when its worst case fits next to the running ones, waits
/// otherwise, and is rejected at the door when it could never fit; no other request is harmed either way.
/// </summary>
public sealed class KvBudgetTests
{
    private const int Steps = 4;
    private const int NewTokens = 5;
    private static readonly int[] Prompt = [1, 5, 9, 13];

    private static EngineOptions Options(long budget) => new()
    {
        ModelPath = FixtureCatalog.Tiny,
        Device = "cpu",
        DType = "float32",
        MaxBatch = 4,
        KvCacheBudgetBytes = budget,
        PrefixCacheEnabled = false,
    };

    private static GenerationRequest Request(int seed, int maxTokens = NewTokens) => new()
    {
        PromptTokens = [.. Prompt.Select(t => t + seed)],
        Depth = DepthPolicy.Fixed(Steps),
        MaxNewTokens = maxTokens,
        IgnoreEndOfTurn = true,
        Seed = seed,
    };

    private static async Task<int[]> Tokens(IInferenceEngine engine, GenerationRequest request)
    {
        var ids = new List<int>();
        await foreach (var update in engine.GenerateAsync(request))
        {
            if (update.Token is { } token)
            {
                ids.Add(token.TokenId);
            }
        }

        return [.. ids];
    }

    // Worst case of one request, from the model's shape: every position (prompt + max_tokens, in whole pool blocks of
    // 16 positions) in every slot (prelude layers, core layers × steps, coda layers), keys and values of fp32.
    private static long OneRequestBytes(InferenceEngine engine, int maxTokens = NewTokens)
    {
        var c = engine.ModelConfig;
        int slots = c.NLayersInPrelude + c.NLayersInRecurrentBlock * Steps + c.NLayersInCoda;
        int blockedPositions = (Prompt.Length + maxTokens + 15) / 16 * 16;
        return (long)blockedPositions * slots * 2 * c.NHeads * c.HeadDim * sizeof(float);
    }

    [Fact]
    public async Task Requests_beyond_the_budget_wait_their_turn_and_each_finishes_as_alone()
    {
        long one;
        var alone = new List<int[]>();
        int widestUnlimited = 0;
        using (var unlimited = InferenceEngine.Load(Options(budget: 0)))
        {
            one = OneRequestBytes(unlimited);
            unlimited.FaultInjection = rows => widestUnlimited = Math.Max(widestUnlimited, rows.Count);
            for (int i = 0; i < 4; i++)
            {
                alone.Add(await Tokens(unlimited, Request(i)));
            }

            await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Tokens(unlimited, Request(i))));
        }

        Assert.True(widestUnlimited > 1, "without a budget the four requests must share batches");

        // Room for one request and a half: the others wait in the queue, one at a time.
        using var engine = InferenceEngine.Load(Options(budget: one * 3 / 2));
        int widest = 0;
        engine.FaultInjection = rows => widest = Math.Max(widest, rows.Count);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Tokens(engine, Request(i))));

        Assert.Equal(1, widest);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(alone[i], results[i]);
        }

        Assert.Equal(0, engine.KvReservedBytes);
    }

    [Fact]
    public async Task Finished_conversations_in_the_prefix_cache_give_their_pool_blocks_back_when_a_request_needs_them()
    {
        long one;
        int[] aloneB;
        using (var unlimited = InferenceEngine.Load(Options(budget: 0)))
        {
            one = OneRequestBytes(unlimited);
            aloneB = await Tokens(unlimited, Request(7));
        }

        // The pool holds one request's worst case: A's finished conversation stays in the prefix cache and holds
        // blocks that B (another prompt, no shared prefix) needs.
        using var engine = InferenceEngine.Load(Options(budget: one) with { PrefixCacheEnabled = true, ModelId = "kv-reclaim-test" });
        await Tokens(engine, Request(0));
        Assert.Equal(1, engine.PrefixCacheEntries);

        var b = await Tokens(engine, Request(7));

        Assert.Equal(aloneB, b);
        Assert.Equal(0, engine.KvReservedBytes);
    }

    [Fact]
    public async Task A_request_that_could_never_fit_is_rejected_naming_max_tokens_and_others_still_run()
    {
        using var probe = InferenceEngine.Load(Options(budget: 0));
        long one = OneRequestBytes(probe);
        using var engine = InferenceEngine.Load(Options(budget: one));

        // 17 positions: one past the first 16-position block, so every slot needs a second block.
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Tokens(engine, Request(0, maxTokens: 17 - Prompt.Length)));

        Assert.Equal("max_tokens", error.ParamName);
        Assert.Contains("KvCacheBudgetBytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(NewTokens, (await Tokens(engine, Request(1))).Length);
    }

    [Fact]
    public async Task Budget_blocks_and_prefix_cache_use_are_in_the_health_data_and_the_metrics()
    {
        long blockBytes;
        using (var probe = InferenceEngine.Load(Options(budget: 0)))
        {
            var c = probe.ModelConfig;
            blockBytes = (long)InferenceEngine.KvBlockTokens * 2 * c.NHeads * c.HeadDim * sizeof(float);
        }

        // Its own model id: engines of tests running in parallel publish on the same meter name.
        using var engine = InferenceEngine.Load(Options(budget: blockBytes * 100) with { PrefixCacheEnabled = true, ModelId = "kv-budget-metrics-test" });
        var measured = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EngineMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "model" && Equals(t.Value, engine.ModelId)))
            {
                measured[instrument.Name] = value;
            }
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "model" && Equals(t.Value, engine.ModelId)))
            {
                measured[instrument.Name] = value;
            }
        });
        listener.Start();

        await Tokens(engine, Request(0));
        var health = await new ModelHealthCheck(engine).CheckHealthAsync(new HealthCheckContext());
        listener.RecordObservableInstruments();

        Assert.Equal(100, health.Data["kv_blocks_total"]);
        Assert.Equal(100, health.Data["kv_blocks_free"]);
        Assert.True((long)health.Data["prefix_cache_bytes"] > 0);
        Assert.Equal(engine.PrefixCacheBytes, measured["recurrentdepth.engine.prefix_cache.size"]);
        Assert.Equal(1, measured["recurrentdepth.engine.prefix_cache.entries"]);
        Assert.Equal(100, measured["recurrentdepth.engine.kv.blocks_free"]);
        Assert.Equal(Prompt.Length, measured["recurrentdepth.engine.prefilled_tokens"]);
    }
}
