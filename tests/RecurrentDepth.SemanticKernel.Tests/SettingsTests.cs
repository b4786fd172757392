using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.SemanticKernel.Tests.Fakes;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class SettingsTests
{
    [Theory]
    [InlineData("thinking_effort", "ultra")]
    [InlineData("reasoning_effort", "maximum")]
    [InlineData("recurrence_steps", 0)]
    [InlineData("recurrence_steps", -3)]
    [InlineData("recurrence_steps", "many")]
    [InlineData("min_recurrence_steps", 99)]
    [InlineData("exit_criterion", "vibes")]
    [InlineData("exit_threshold", -1.0)]
    [InlineData("cache_strategy", "compress-x9")]
    [InlineData("temperature", -0.1)]
    [InlineData("top_p", 1.5)]
    [InlineData("top_k", -1)]
    [InlineData("min_p", 2.0)]
    [InlineData("repetition_penalty", 0.0)]
    [InlineData("max_tokens", 0)]
    [InlineData("continuous_compute", "sometimes")]
    public async Task Invalid_settings_name_the_setting_on_both_surfaces(string key, object value)
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var sk = await Assert.ThrowsAnyAsync<ArgumentException>(() => service.GetChatMessageContentAsync(
            new ChatHistory("q"), new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { [key] = value } }));
        var meai = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync("q", new ChatOptions { AdditionalProperties = new() { [key] = value } }));

        Assert.Equal(key, sk.ParamName);
        Assert.Equal(key, meai.ParamName);
        Assert.Contains(key, sk.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
    }

    [Fact]
    public void Unknown_effort_lists_the_accepted_values()
    {
        var error = Assert.Throws<ArgumentException>(() => RecurrentDepthPromptExecutionSettings.FromExecutionSettings(
            new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["thinking_effort"] = "ultra" } }));

        Assert.Equal("thinking_effort", error.ParamName);
        Assert.Contains("none, minimal, low, medium, high, xhigh, extra_high, extrahigh, adaptive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Typed_invalid_values_fail_at_the_request_with_the_setting_name()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());

        var error = Assert.ThrowsAny<ArgumentException>(() => service.GetChatMessageContentAsync(new ChatHistory("q"), new RecurrentDepthPromptExecutionSettings { TopP = 1.2 }).GetAwaiter().GetResult());
        Assert.Equal("top_p", error.ParamName);

        error = Assert.ThrowsAny<ArgumentException>(() => service.GetChatMessageContentAsync(new ChatHistory("q"), new RecurrentDepthPromptExecutionSettings { ThinkingEffort = (ThinkingEffort)42 }).GetAwaiter().GetResult());
        Assert.Equal("thinking_effort", error.ParamName);
    }

    [Fact]
    public void Frozen_settings_refuse_changes_and_clones_are_independent_and_unfrozen()
    {
        var settings = new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.High, RecurrenceSteps = 10, StopSequences = ["END"], ModelId = "m" };
        settings.Freeze();

        Assert.True(settings.IsFrozen);
        Assert.Throws<InvalidOperationException>(() => settings.ThinkingEffort = ThinkingEffort.Low);
        Assert.Throws<InvalidOperationException>(() => settings.RecurrenceSteps = 3);
        Assert.Throws<InvalidOperationException>(() => settings.ModelId = "other");
        Assert.ThrowsAny<NotSupportedException>(() => settings.StopSequences!.Add("MORE"));

        var clone = (RecurrentDepthPromptExecutionSettings)settings.Clone();
        Assert.False(clone.IsFrozen);
        Assert.Equal((ThinkingEffort.High, 10, "m"), (clone.ThinkingEffort!.Value, clone.RecurrenceSteps!.Value, clone.ModelId));
        clone.StopSequences!.Add("MORE");
        clone.ThinkingEffort = ThinkingEffort.None;
        Assert.Equal(["END"], settings.StopSequences);
        Assert.Equal(ThinkingEffort.High, settings.ThinkingEffort);
    }

    [Fact]
    public void Json_uses_snake_case_and_round_trips()
    {
        var settings = new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.ExtraHigh, RecurrenceSteps = 24, ExitCriterion = "kl", MinP = 0.1 };

        var json = JsonSerializer.Serialize(settings);
        var back = JsonSerializer.Deserialize<RecurrentDepthPromptExecutionSettings>(json)!;

        Assert.Contains("\"thinking_effort\":\"xhigh\"", json, StringComparison.Ordinal);
        Assert.Contains("\"recurrence_steps\":24", json, StringComparison.Ordinal);
        Assert.Equal((ThinkingEffort.ExtraHigh, 24, "kl", 0.1), (back.ThinkingEffort!.Value, back.RecurrenceSteps!.Value, back.ExitCriterion, back.MinP!.Value));
    }

    [Fact]
    public void From_execution_settings_reads_extension_data_and_keeps_service_selection()
    {
        var generic = new PromptExecutionSettings
        {
            ServiceId = "latent",
            ModelId = "huginn",
            ExtensionData = new Dictionary<string, object>
            {
                ["thinking_effort"] = "adaptive",
                ["recurrence_steps"] = "20",
                ["max_tokens"] = 64,
                ["stop_sequences"] = new[] { "END" },
                ["presence_penalty"] = 0.5,
            },
        };

        var settings = RecurrentDepthPromptExecutionSettings.FromExecutionSettings(generic);

        Assert.Equal((ThinkingEffort.Adaptive, 20, 64), (settings.ThinkingEffort!.Value, settings.RecurrenceSteps!.Value, settings.MaxTokens!.Value));
        Assert.Equal(["END"], settings.StopSequences);
        Assert.Equal(("latent", "huginn"), (settings.ServiceId, settings.ModelId));
        Assert.True(settings.ExtensionData!.ContainsKey("presence_penalty"));
        Assert.Same(settings, RecurrentDepthPromptExecutionSettings.FromExecutionSettings(settings));
    }
}
