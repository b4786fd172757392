using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class ResilienceTests
{
    private static readonly ChatOptions XHigh = new() { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.ExtraHigh } };

    [Fact]
    public async Task Queue_full_falls_back_one_effort_when_enabled_and_reports_it()
    {
        var engine = new FakeInferenceEngine { Reject = (_, call) => call == 0 ? new EngineQueueFullException(4) : null };
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create(o => o.EnableEffortFallback = true));

        var response = await client.GetResponseAsync("q", XHigh);

        Assert.Equal([64, 32], engine.Requests.Select(r => r.Depth.MaxSteps));
        Assert.Equal(FakeInferenceEngine.ExpectedText(), response.Text);
        Assert.Equal(1, response.Usage!.AdditionalCounts![K.FallbackLevels]);
        Assert.Equal(64, response.Usage.AdditionalCounts[K.RequestedMaxSteps]);
        Assert.Equal(32, response.Usage.AdditionalCounts[K.AppliedMaxSteps]);
        Assert.Equal("queue_full", response.AdditionalProperties![K.FallbackReason]);
        Assert.Equal("high", response.AdditionalProperties[K.ThinkingEffort]);
    }

    [Fact]
    public async Task Fallback_walks_down_the_ladder_and_fails_clearly_when_it_runs_out()
    {
        var engine = new FakeInferenceEngine { Reject = (_, _) => new EngineQueueFullException(4) };
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create(o => o.EnableEffortFallback = true));

        var error = await Assert.ThrowsAsync<EngineQueueFullException>(() => service.GetChatMessageContentAsync(
            new ChatHistory("q"), new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.High }));

        Assert.Equal([32, 16, 8, 4], engine.Requests.Select(r => r.Depth.MaxSteps));
        Assert.Contains("MaxQueue", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queue_full_fails_at_once_when_fallback_is_off()
    {
        var engine = new FakeInferenceEngine { Reject = (_, _) => new EngineQueueFullException(4) };
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        await Assert.ThrowsAsync<EngineQueueFullException>(() => client.GetResponseAsync("q", XHigh));

        Assert.Single(engine.Requests);
    }

    [Fact]
    public async Task Missed_first_token_deadline_falls_back_to_an_effort_that_meets_it()
    {
        var engine = new FakeInferenceEngine { Hang = r => r.Depth.MaxSteps > 16 };
        var clock = new FakeTimeProvider();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create(o =>
        {
            o.EnableEffortFallback = true;
            o.FirstTokenTimeout = TimeSpan.FromSeconds(5);
        }), timeProvider: clock);

        var call = client.GetResponseAsync("q", XHigh);
        // 64 and 32 steps hang; each misses its first-token deadline when the clock passes it.
        for (int attempt = 0; attempt < 2; attempt++)
        {
            await engine.NextHangAsync();
            clock.Advance(TimeSpan.FromSeconds(5));
        }

        var response = await call;

        Assert.Equal([64, 32, 16], engine.Requests.Select(r => r.Depth.MaxSteps));
        Assert.Equal(2, response.Usage!.AdditionalCounts![K.FallbackLevels]);
        Assert.Equal("first_token_timeout", response.AdditionalProperties![K.FallbackReason]);
        Assert.Equal(16, response.Usage.AdditionalCounts[K.AppliedMaxSteps]);
    }

    [Fact]
    public async Task Missed_first_token_deadline_without_fallback_is_a_timeout_naming_the_option()
    {
        var engine = new FakeInferenceEngine { Hang = _ => true };
        var clock = new FakeTimeProvider();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create(o => o.FirstTokenTimeout = TimeSpan.FromSeconds(5)), timeProvider: clock);

        var call = client.GetResponseAsync("q", XHigh);
        await engine.NextHangAsync();
        clock.Advance(TimeSpan.FromSeconds(5));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => call);

        Assert.Contains("RecurrentDepth:FirstTokenTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("64 max recurrence steps", error.Message, StringComparison.Ordinal);
        Assert.Single(engine.Requests);
    }

    [Fact]
    public async Task Request_deadline_is_a_timeout_naming_the_option()
    {
        var engine = new FakeInferenceEngine { Hang = _ => true };
        var clock = new FakeTimeProvider();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create(o =>
        {
            o.RequestTimeout = TimeSpan.FromMinutes(5);
            o.FirstTokenTimeout = Timeout.InfiniteTimeSpan;
        }), timeProvider: clock);

        var call = service.GetChatMessageContentAsync(new ChatHistory("q"));
        await engine.NextHangAsync();
        clock.Advance(TimeSpan.FromMinutes(5));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => call);

        Assert.Contains("RecurrentDepth:RequestTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_produced_tokens_is_never_retried()
    {
        var engine = new FakeInferenceEngine { FailAfterFirstToken = new EngineQueueFullException(4) };
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create(o => o.EnableEffortFallback = true));
        var received = new List<string>();

        await Assert.ThrowsAsync<EngineQueueFullException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("q", XHigh))
            {
                received.Add(update.Text);
            }
        });

        Assert.Single(engine.Requests);
        Assert.Equal(["The"], received);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_a_timeout_and_is_not_retried()
    {
        var engine = new FakeInferenceEngine { Hang = _ => true };
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create(o => o.EnableEffortFallback = true));
        using var cts = new CancellationTokenSource();
        var call = client.GetResponseAsync("q", XHigh, cts.Token);
        await engine.NextHangAsync();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Single(engine.Requests);
    }
}
