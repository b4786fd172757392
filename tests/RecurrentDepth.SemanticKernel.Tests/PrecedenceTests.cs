using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Generation;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class PrecedenceTests
{
    private readonly FakeInferenceEngine _engine = new();

    private async Task<IReadOnlyDictionary<string, object?>> AskAsync(PromptExecutionSettings? settings, RecurrentDepthOptions? options = null)
    {
        var service = new RecurrentDepthChatCompletionService(_engine, options ?? TestOptions.Create());
        var reply = await service.GetChatMessageContentAsync(new ChatHistory("q"), settings);
        return reply.Metadata!;
    }

    [Fact]
    public async Task Recurrence_steps_beat_thinking_effort_and_run_fixed_depth()
    {
        var meta = await AskAsync(new RecurrentDepthPromptExecutionSettings { RecurrenceSteps = 12, ThinkingEffort = ThinkingEffort.ExtraHigh, ReasoningEffort = "low" });

        Assert.Equal(12, _engine.LastRequest.Depth.MaxSteps);
        Assert.Equal(ExitCriterion.None, _engine.LastRequest.Depth.Criterion);
        Assert.Equal("recurrence_steps", meta[K.DepthSource]);
        Assert.False(meta.ContainsKey(K.ThinkingEffort));
        Assert.Equal(12.0, (double)meta[K.MeanSteps]!);
    }

    [Fact]
    public async Task Recurrence_steps_with_a_criterion_exit_early()
    {
        await AskAsync(new RecurrentDepthPromptExecutionSettings { RecurrenceSteps = 20, ExitCriterion = "entropy_diff", ExitThreshold = 1e-3, MinRecurrenceSteps = 2 });

        var depth = _engine.LastRequest.Depth;
        Assert.Equal((20, ExitCriterion.EntropyDiff, (double?)1e-3, 2), (depth.MaxSteps, depth.Criterion, depth.Threshold, depth.MinSteps));
    }

    [Fact]
    public async Task Thinking_effort_beats_reasoning_effort()
    {
        var meta = await AskAsync(new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.Low, ReasoningEffort = "high" });

        Assert.Equal(8, _engine.LastRequest.Depth.MaxSteps);
        Assert.Equal("thinking_effort", meta[K.DepthSource]);
        Assert.Equal("low", meta[K.ThinkingEffort]);
    }

    [Fact]
    public async Task Reasoning_effort_beats_the_default()
    {
        var meta = await AskAsync(new RecurrentDepthPromptExecutionSettings { ReasoningEffort = "xhigh" }, TestOptions.Create(o => o.DefaultEffort = "low"));

        Assert.Equal(64, _engine.LastRequest.Depth.MaxSteps);
        Assert.Equal("reasoning_effort", meta[K.DepthSource]);
    }

    [Fact]
    public async Task Options_default_effort_applies_when_nothing_is_asked()
    {
        var meta = await AskAsync(null, TestOptions.Create(o => o.DefaultEffort = "adaptive"));

        Assert.Equal((64, 4), (_engine.LastRequest.Depth.MaxSteps, _engine.LastRequest.Depth.MinSteps));
        Assert.Equal("default", meta[K.DepthSource]);
        Assert.Equal("adaptive", meta[K.ThinkingEffort]);
    }

    [Fact]
    public async Task The_built_in_default_is_medium()
    {
        await AskAsync(null);

        Assert.Equal((16, ExitCriterion.Kl), (_engine.LastRequest.Depth.MaxSteps, _engine.LastRequest.Depth.Criterion));
    }

    [Fact]
    public async Task Overridden_profiles_are_used()
    {
        var options = TestOptions.Create(o => o.EffortProfiles.High = o.EffortProfiles.High with { MaxSteps = 48, Threshold = 1e-4 });

        await AskAsync(new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.High }, options);

        Assert.Equal((48, ExitCriterion.Kl, (double?)1e-4), (_engine.LastRequest.Depth.MaxSteps, _engine.LastRequest.Depth.Criterion, _engine.LastRequest.Depth.Threshold));
    }

    [Fact]
    public async Task Exit_settings_override_the_effort_profile()
    {
        await AskAsync(new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.High, ExitCriterion = "none", ContinuousCompute = true });

        Assert.Equal((32, ExitCriterion.None, true), (_engine.LastRequest.Depth.MaxSteps, _engine.LastRequest.Depth.Criterion, _engine.LastRequest.Depth.ContinuousCompute));
    }

    [Fact]
    public async Task Chat_options_thinking_effort_beats_reasoning_options_and_typed_options_map()
    {
        using var client = new RecurrentDepthChatClient(_engine, TestOptions.Create());
        var options = new ChatOptions
        {
            Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High },
            AdditionalProperties = new() { ["thinking_effort"] = "minimal", ["top_k"] = 40, ["min_p"] = "0.05", ["cache_strategy"] = "compress-s16" },
            Temperature = 0.5f,
            TopP = 0.9f,
            MaxOutputTokens = 3,
            Seed = 7,
            StopSequences = ["\n\n"],
        };

        var response = await client.GetResponseAsync("q", options);

        var request = _engine.LastRequest;
        Assert.Equal(4, request.Depth.MaxSteps);
        Assert.Equal(0.5, request.Sampling.Temperature, 6);
        Assert.Equal(0.9, request.Sampling.TopP, 6);
        Assert.Equal(40, request.Sampling.TopK);
        Assert.Equal(0.05, request.Sampling.MinP, 6);
        Assert.Equal("compress-s16", request.Cache!.ToString());
        Assert.Equal(3, request.MaxNewTokens);
        Assert.Equal(7, request.Seed);
        Assert.Equal(["\n\n"], request.StopSequences);
        Assert.Equal(FakeInferenceEngine.ExpectedText(3), response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task Explicit_recurrence_steps_in_chat_options_beat_reasoning_effort()
    {
        using var client = new RecurrentDepthChatClient(_engine, TestOptions.Create());

        await client.GetResponseAsync("q", new ChatOptions { Reasoning = new() { Effort = ReasoningEffort.ExtraHigh }, AdditionalProperties = new() { ["recurrence_steps"] = 6 } });

        Assert.Equal((6, ExitCriterion.None), (_engine.LastRequest.Depth.MaxSteps, _engine.LastRequest.Depth.Criterion));
    }
}
