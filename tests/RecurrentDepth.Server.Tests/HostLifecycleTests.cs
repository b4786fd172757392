using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RecurrentDepth.Engine;

namespace RecurrentDepth.Server.Tests;

/// <summary>Servers of their own: API keys, a full queue, loading and failed models, and graceful shutdown.</summary>
public sealed class HostLifecycleTests
{
    private static object Long(bool stream) => new { messages = new[] { Wire.User("3+7*9=") }, stream, ignore_eos = true, max_tokens = 1000, recurrence_steps = 64 };

    [Fact]
    public async Task With_api_keys_every_v1_route_requires_one_and_health_stays_open()
    {
        await using var host = await ServerHost.StartAsync(new Dictionary<string, string?> { ["Server:ApiKeys:0"] = "first", ["Server:ApiKeys:1"] = "second" });
        var ask = new { messages = new[] { Wire.User("1+3=") }, max_tokens = 2 };

        using var none = await host.PostChatAsync(ask);
        using var wrong = await host.PostChatAsync(ask, apiKey: "third");
        using var models = await host.Http.GetAsync("/v1/models");
        using var right = await host.PostChatAsync(ask, apiKey: "second");
        using var live = await host.Http.GetAsync("/health/live");

        await Wire.ErrorOf(none, HttpStatusCode.Unauthorized, "invalid_request_error", null, "invalid_api_key");
        await Wire.ErrorOf(wrong, HttpStatusCode.Unauthorized, "invalid_request_error", null, "invalid_api_key");
        await Wire.ErrorOf(models, HttpStatusCode.Unauthorized, "invalid_request_error", null, "invalid_api_key");
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after_at_once()
    {
        await using var host = await ServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["RecurrentDepth:MaxBatch"] = "1",
            ["RecurrentDepth:MaxQueue"] = "1",
            ["Server:RetryAfterSeconds"] = "3",
        });
        using var running = await host.OpenStreamAsync(Long(stream: true));
        await running.NextContentAsync();
        using var cancelWaiting = new CancellationTokenSource();
        var waiting = host.OpenStreamAsync(Long(stream: true), cancelWaiting.Token);
        await Eventually.TrueAsync(() => host.Engine.CurrentLoad.QueueLength == 1, "the second request to wait in the queue");

        using var rejected = await host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") } });

        await Wire.ErrorOf(rejected, HttpStatusCode.TooManyRequests, "rate_limit_error", null, "queue_full");
        Assert.Equal(TimeSpan.FromSeconds(3), rejected.Headers.RetryAfter?.Delta);
        await cancelWaiting.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task While_the_model_loads_chat_is_503_with_retry_after_and_ready_is_503_with_the_reason()
    {
        await using var host = await ServerHost.StartAsync(services: s => s.AddSingleton<IInferenceEngine>(new LoadingEngine()));

        using var chat = await host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") } });
        using var ready = await host.Http.GetAsync("/health/ready");
        using var live = await host.Http.GetAsync("/health/live");

        await Wire.ErrorOf(chat, HttpStatusCode.ServiceUnavailable, "service_unavailable", null, "model_loading");
        Assert.Equal(TimeSpan.FromSeconds(1), chat.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("is loading", await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task After_a_failed_load_chat_and_ready_are_503_with_the_reason()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-model-{Guid.NewGuid():N}");
        await using var host = await ServerHost.StartAsync(new Dictionary<string, string?> { ["RecurrentDepth:ModelPath"] = missing }, waitForModel: false);
        await Eventually.TrueAsync(() => host.Engine.State == EngineState.Faulted, "the load to fail");

        using var chat = await host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") } });
        using var ready = await host.Http.GetAsync("/health/ready");

        var error = await Wire.ErrorOf(chat, HttpStatusCode.ServiceUnavailable, "service_unavailable", null, "model_failed");
        Assert.Contains("failed to load", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("failed to load", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Graceful_shutdown_ends_in_flight_answers_with_an_explicit_cancelled_finish()
    {
        var host = await ServerHost.StartAsync();
        using var streaming = await host.OpenStreamAsync(Long(stream: true));
        await streaming.NextContentAsync();
        var whole = host.PostChatAsync(Long(stream: false));
        await Eventually.TrueAsync(() => host.Engine.CurrentLoad.ActiveSequences == 2, "both requests to be generating");

        var stopping = host.App.StopAsync();
        var events = await streaming.ReadToEndAsync();
        using var response = await whole;
        await stopping;
        await host.DisposeAsync();

        Assert.Equal("[DONE]", events[^1]);
        using var last = JsonDocument.Parse(events[^2]);
        Assert.Equal("cancelled", last.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("cancelled", doc.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    /// <summary>An engine still loading its model (what ModelHost reports until the load completes).</summary>
    private sealed class LoadingEngine : IInferenceEngine
    {
        public string ModelId => ServerHost.ModelId;
        public EngineState State => EngineState.Loading;
        public string? FailureReason => null;
        public int QueueLength => 0;
        public int QueueCapacity => 64;
        public EngineLoad CurrentLoad => new() { QueueCapacity = 64 };

        public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("The server must not submit work to an engine that is loading.");
    }
}
