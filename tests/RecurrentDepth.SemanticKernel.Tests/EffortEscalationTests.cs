using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using E = RecurrentDepth.SemanticKernel.EscalationMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class EffortEscalationTests
{
    // The fake's five tokens: every token under fixed depth runs MaxSteps; under KL exit four run MaxSteps/2, the last the cap.
    private const long NoneSteps = 5 * 4, LowSteps = 5 * 8, MediumSteps = 4 * 8 + 16, HighSteps = 4 * 16 + 32;

    private static IChatClient Pipeline(FakeInferenceEngine engine, Action<EffortEscalationOptions>? configure = null, Action<RecurrentDepthOptions>? leaf = null) =>
        new RecurrentDepthChatClient(engine, TestOptions.Create(leaf)).AsBuilder().UseEffortEscalation(configure).Build();

    // Tokens whose index is below `unconverged` end unconverged while the step cap is below `settlesAt`.
    private static Func<GenerationRequest, int, double?> HardUntil(int settlesAt, int unconverged = 5) =>
        (request, token) => request.Depth.MaxSteps < settlesAt && token < unconverged ? 0.05 : 1e-5;

    private static int[] AskedCaps(FakeInferenceEngine engine) => [.. engine.Requests.Select(r => r.Depth.MaxSteps)];

    [Fact]
    public async Task A_converged_first_answer_is_returned_without_escalating()
    {
        var engine = new FakeInferenceEngine { ExitValue = HardUntil(settlesAt: 0) };
        using var client = Pipeline(engine);

        var response = await client.GetResponseAsync("q");

        Assert.Equal([4], AskedCaps(engine));
        Assert.Equal("none", response.AdditionalProperties![E.EffortPath]);
        Assert.Equal(new[] { NoneSteps }, response.AdditionalProperties[E.StepsPerAttempt]);
        Assert.Equal("accepted", response.AdditionalProperties[E.StopReason]);
        Assert.Equal(1, response.Usage!.AdditionalCounts![E.AttemptCount]);
    }

    [Fact]
    public async Task Unconverged_answers_step_up_one_effort_at_a_time_until_one_converges()
    {
        var engine = new FakeInferenceEngine { ExitValue = HardUntil(settlesAt: 16) };
        using var client = Pipeline(engine);

        var response = await client.GetResponseAsync("q");

        Assert.Equal([4, 8, 16], AskedCaps(engine));
        var properties = response.AdditionalProperties!;
        Assert.Equal("none>low>medium", properties[E.EffortPath]);
        Assert.Equal(new[] { NoneSteps, LowSteps, MediumSteps }, properties[E.StepsPerAttempt]);
        var attempts = Assert.IsType<EffortAttempt[]>(properties[E.Attempts]);
        Assert.Equal([EffortAttemptVerdict.Unconverged, EffortAttemptVerdict.Unconverged, EffortAttemptVerdict.Accepted], attempts.Select(a => a.Verdict));
        Assert.Equal([1.0, 1.0, 0.0], attempts.Select(a => a.UnconvergedShare!.Value));
        Assert.Equal(NoneSteps + LowSteps + MediumSteps, response.Usage!.AdditionalCounts![E.TotalSteps]);
        Assert.Equal(15, response.Usage.AdditionalCounts[E.TotalOutputTokens]);
        // The response's own figures are the accepted attempt's.
        Assert.Equal(MediumSteps, response.Usage.AdditionalCounts[RecurrenceMetadataKeys.TotalSteps]);
        Assert.Equal(FakeInferenceEngine.ExpectedText(), response.Text);
    }

    [Theory]
    [InlineData(0.2, 1)] // one of five tokens unconverged: a share of 0.2 is not above 0.2
    [InlineData(0.19, 2)]
    [InlineData(0.0, 2)]
    public async Task Escalation_fires_only_when_the_share_is_above_the_threshold(double threshold, int expectedAttempts)
    {
        var engine = new FakeInferenceEngine { ExitValue = HardUntil(settlesAt: 8, unconverged: 1) };
        using var client = Pipeline(engine, o => o.UnconvergedShareThreshold = threshold);

        var response = await client.GetResponseAsync("q");

        Assert.Equal(expectedAttempts, engine.Calls);
        Assert.Equal((long)expectedAttempts, response.Usage!.AdditionalCounts![E.AttemptCount]);
    }

    [Fact]
    public async Task A_rejecting_validator_escalates_and_sees_every_converged_answer()
    {
        var engine = new FakeInferenceEngine { ExitValue = HardUntil(settlesAt: 0) };
        var seen = new List<string>();
        using var client = Pipeline(engine, o =>
        {
            o.StartEffort = ThinkingEffort.Low;
            o.Validator = (response, _) =>
            {
                seen.Add((string)response.AdditionalProperties![RecurrenceMetadataKeys.ThinkingEffort]!);
                return ValueTask.FromResult(seen.Count == 3);
            };
        });

        var response = await client.GetResponseAsync("q");

        Assert.Equal(["low", "medium", "high"], seen);
        Assert.Equal([8, 16, 32], AskedCaps(engine));
        var attempts = (EffortAttempt[])response.AdditionalProperties![E.Attempts]!;
        Assert.Equal([EffortAttemptVerdict.Rejected, EffortAttemptVerdict.Rejected, EffortAttemptVerdict.Accepted], attempts.Select(a => a.Verdict));
        Assert.Equal(new[] { LowSteps, MediumSteps, HighSteps }, response.AdditionalProperties[E.StepsPerAttempt]);
    }

    [Fact]
    public async Task The_ceiling_ends_escalation_and_returns_the_last_answer()
    {
        var engine = new FakeInferenceEngine { ExitValue = HardUntil(settlesAt: int.MaxValue) };
        using var client = Pipeline(engine, o => o.MaxEffort = ThinkingEffort.Low);

        var response = await client.GetResponseAsync("q");

        Assert.Equal([4, 8], AskedCaps(engine));
        Assert.Equal("ceiling", response.AdditionalProperties![E.StopReason]);
        Assert.Equal(EffortAttemptVerdict.Ceiling, ((EffortAttempt[])response.AdditionalProperties[E.Attempts]!)[^1].Verdict);
    }

    [Fact]
    public async Task Streaming_is_buffered_so_the_caller_sees_only_the_accepted_attempt()
    {
        var engine = new FakeInferenceEngine { ExitValue = HardUntil(settlesAt: 8) };
        using var client = Pipeline(engine);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("q"))
        {
            updates.Add(update);
        }

        Assert.Equal(2, engine.Calls);
        Assert.Equal(FakeInferenceEngine.Words, updates.Where(u => u.Text.Length > 0).Select(u => u.Text));
        Assert.Equal("none>low", updates[^1].AdditionalProperties![E.EffortPath]);
        var usage = updates.ToChatResponse().Usage!;
        Assert.Equal(NoneSteps + LowSteps, usage.AdditionalCounts![E.TotalSteps]);
        Assert.Equal(5, usage.OutputTokenCount);
    }

    [Fact]
    public async Task An_attempt_served_below_its_effort_by_the_load_fallback_ends_escalation()
    {
        // The queue is full for the first request: the leaf falls back from low to none, whose answer is unconverged.
        var engine = new FakeInferenceEngine
        {
            ExitValue = HardUntil(settlesAt: 8),
            Reject = (_, call) => call == 0 ? new EngineQueueFullException(4) : null,
        };
        using var client = Pipeline(engine, o => o.StartEffort = ThinkingEffort.Low, leaf => leaf.EnableEffortFallback = true);

        var response = await client.GetResponseAsync("q");

        Assert.Equal([8, 4], AskedCaps(engine));
        Assert.Equal("fell_back", response.AdditionalProperties![E.StopReason]);
        Assert.Equal("low", response.AdditionalProperties[E.EffortPath]);
    }

    [Fact]
    public async Task Errors_are_not_escalated()
    {
        var engine = new FakeInferenceEngine { Reject = (_, _) => new EngineQueueFullException(4) };
        using var client = Pipeline(engine);

        await Assert.ThrowsAsync<EngineQueueFullException>(() => client.GetResponseAsync("q"));
        Assert.Equal(1, engine.Calls);
    }

    [Fact]
    public async Task Pinned_recurrence_steps_are_rejected_up_front()
    {
        var engine = new FakeInferenceEngine();
        using var client = Pipeline(engine);

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            client.GetResponseAsync("q", new ChatOptions { AdditionalProperties = new() { ["recurrence_steps"] = 8 } }));

        Assert.Equal("recurrence_steps", error.ParamName);
        Assert.Equal(0, engine.Calls);
    }

    [Theory]
    [InlineData(ThinkingEffort.Adaptive, ThinkingEffort.High, nameof(EffortEscalationOptions.StartEffort))]
    [InlineData(ThinkingEffort.High, ThinkingEffort.Low, nameof(EffortEscalationOptions.MaxEffort))]
    public void Invalid_options_name_the_option(ThinkingEffort start, ThinkingEffort max, string option)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() =>
            new EffortEscalatingChatClient(new RecurrentDepthChatClient(new FakeInferenceEngine()), new EffortEscalationOptions { StartEffort = start, MaxEffort = max }));

        Assert.Equal(option, error.ParamName);
    }

    [Fact]
    public async Task Semantic_kernel_reaches_escalation_through_the_same_pipeline()
    {
        var engine = new FakeInferenceEngine { ExitValue = HardUntil(settlesAt: 8) };
        using var client = Pipeline(engine);
        var service = client.AsChatCompletionService();

        var reply = await service.GetChatMessageContentAsync(new ChatHistory("q"));

        Assert.Equal([4, 8], AskedCaps(engine));
        Assert.Equal(FakeInferenceEngine.ExpectedText(), reply.Content);
        Assert.Equal("none>low", reply.Metadata![E.EffortPath]);
    }
}
