using System.Diagnostics;
using Microsoft.Extensions.AI;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RecurrentDepth.SemanticKernel.Tests.Fakes;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class TelemetryTests
{
    [Fact]
    public async Task Engine_span_nests_under_the_meai_client_span_with_genai_and_recurrence_tags()
    {
        // A model id unique to this test keeps spans of tests running in parallel apart.
        string model = $"huginn-{Guid.NewGuid():N}";
        var spans = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(RecurrentDepthTelemetry.SourceName, "meai-under-test")
            .AddInMemoryExporter(spans)
            .Build())
        {
            using var client = new RecurrentDepthChatClient(new FakeInferenceEngine(model), TestOptions.Create())
                .AsBuilder()
                .UseOpenTelemetry(sourceName: "meai-under-test")
                .Build();

            await client.GetResponseAsync("q", new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High } });
            await foreach (var _ in client.GetStreamingResponseAsync("q"))
            {
            }

            tracing.ForceFlush();
        }

        var ours = spans.Where(a => a.Source.Name == RecurrentDepthTelemetry.SourceName && Equals(a.GetTagItem("gen_ai.request.model"), model)).ToList();
        var theirs = spans.Where(a => a.Source.Name == "meai-under-test" && Equals(a.GetTagItem("gen_ai.request.model"), model)).ToList();
        Assert.Equal(2, ours.Count);
        Assert.Equal(2, theirs.Count);
        Assert.All(ours, a => Assert.Contains(theirs, t => t.SpanId == a.ParentSpanId));
        Assert.All(ours, a => Assert.Equal(ActivityKind.Internal, a.Kind));

        var span = ours[0];
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal(RecurrentDepthTelemetry.ProviderName, span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(RecurrentDepthTelemetry.ProviderName, span.GetTagItem("gen_ai.system"));
        Assert.Equal(model, span.GetTagItem("gen_ai.response.model"));
        Assert.Equal(5, span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.NotNull(span.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(32, span.GetTagItem("recurrent_depth.max_steps"));
        Assert.Equal("kl", span.GetTagItem("recurrent_depth.exit_criterion"));
        Assert.Equal(19.2, (double)span.GetTagItem("recurrent_depth.mean_steps")!, 9);
        Assert.Equal(0.2, (double)span.GetTagItem("recurrent_depth.cap_hit_share")!, 9);
        Assert.Equal("high", span.GetTagItem("recurrent_depth.request.thinking_effort"));
        Assert.Equal(["stop"], (string[])span.GetTagItem("gen_ai.response.finish_reasons")!);
    }

    [Fact]
    public async Task Failed_requests_mark_the_span_as_an_error()
    {
        string model = $"huginn-{Guid.NewGuid():N}";
        var spans = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddSource(RecurrentDepthTelemetry.SourceName).AddInMemoryExporter(spans).Build())
        {
            var engine = new FakeInferenceEngine(model) { Reject = (_, _) => new Engine.EngineQueueFullException(1) };
            using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
            await Assert.ThrowsAsync<Engine.EngineQueueFullException>(() => client.GetResponseAsync("q"));
            tracing.ForceFlush();
        }

        var span = Assert.Single(spans, a => Equals(a.GetTagItem("gen_ai.request.model"), model));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(typeof(Engine.EngineQueueFullException).FullName, span.GetTagItem("error.type"));
    }

    [Fact]
    public async Task Metrics_report_token_usage_duration_steps_per_token_throughput_and_queue_length()
    {
        string model = $"huginn-{Guid.NewGuid():N}";
        var metrics = new List<Metric>();
        var engine = new FakeInferenceEngine(model) { QueueLength = 3 };
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(RecurrentDepthTelemetry.MeterName).AddInMemoryExporter(metrics).Build();
        using (var client = new RecurrentDepthChatClient(engine, TestOptions.Create()))
        {
            await client.GetResponseAsync("q", new ChatOptions { AdditionalProperties = new() { ["thinking_effort"] = "low" } });

            // One export only, while the client (and so its meter, whose gauge watches this engine) is alive:
            // disposing the provider would export the cumulative points again.
            meters.ForceFlush();
        }

        var points = metrics
            .SelectMany(m => Points(m).Select(p => (Metric: m, Point: p)))
            .Where(x => HasTag(x.Point, "gen_ai.request.model", model))
            .ToList();

        var usage = points.Where(x => x.Metric.Name == "gen_ai.client.token.usage").ToList();
        Assert.Equal("{token}", usage[0].Metric.Unit);
        var output = Assert.Single(usage, x => HasTag(x.Point, "gen_ai.token.type", "output"));
        Assert.Equal(5, output.Point.GetHistogramSum());
        Assert.Contains(usage, x => HasTag(x.Point, "gen_ai.token.type", "input"));
        Assert.All(usage, x => Assert.True(HasTag(x.Point, "gen_ai.operation.name", "chat")));

        var duration = Assert.Single(points, x => x.Metric.Name == "gen_ai.client.operation.duration");
        Assert.Equal("s", duration.Metric.Unit);
        Assert.Equal(1, duration.Point.GetHistogramCount());

        var steps = Assert.Single(points, x => x.Metric.Name == "recurrent_depth.steps_per_token");
        Assert.Equal(5, steps.Point.GetHistogramCount());
        Assert.Equal(5 * 8, steps.Point.GetHistogramSum());

        var throughput = Assert.Single(points, x => x.Metric.Name == "recurrent_depth.output_tokens_per_second");
        Assert.Equal(50, throughput.Point.GetHistogramSum(), 6); // 5 tokens in the fake's 100 ms

        var queue = Assert.Single(points, x => x.Metric.Name == "recurrent_depth.queue.length");
        Assert.Equal(3, queue.Point.GetGaugeLastValueLong());
    }

    [Fact]
    public void Each_client_has_its_own_meter_and_queue_gauge_which_end_with_it()
    {
        // Two clients over two engines: each gauge reports its own engine, and a disposed client's gauge is no longer
        // observed (there is no process-wide registry of engines).
        string id = Guid.NewGuid().ToString("N");
        var metrics = new List<Metric>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(RecurrentDepthTelemetry.MeterName).AddInMemoryExporter(metrics).Build();
        var first = new RecurrentDepthChatClient(new FakeInferenceEngine($"a-{id}") { QueueLength = 2 }, TestOptions.Create());
        using var second = new RecurrentDepthChatClient(new FakeInferenceEngine($"b-{id}") { QueueLength = 7 }, TestOptions.Create());

        meters.ForceFlush();
        Assert.Equal([2L], QueueValues(metrics, $"a-{id}"));
        Assert.Equal([7L], QueueValues(metrics, $"b-{id}"));

        first.Dispose();
        metrics.Clear();
        meters.ForceFlush();
        Assert.Empty(QueueValues(metrics, $"a-{id}"));
        Assert.Equal([7L], QueueValues(metrics, $"b-{id}"));
    }

    private static List<long> QueueValues(List<Metric> metrics, string model) =>
        [.. metrics.Where(m => m.Name == "recurrent_depth.queue.length")
            .SelectMany(Points)
            .Where(p => HasTag(p, "gen_ai.request.model", model))
            .Select(p => p.GetGaugeLastValueLong())];

    private static List<MetricPoint> Points(Metric metric)
    {
        var list = new List<MetricPoint>();
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            list.Add(point);
        }

        return list;
    }

    private static bool HasTag(MetricPoint point, string key, object value)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key && Equals(tag.Value, value))
            {
                return true;
            }
        }

        return false;
    }
}
