using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using ChatReasoningEffortLevel = OpenAI.Chat.ChatReasoningEffortLevel;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

// ChatReasoningEffortLevel is marked experimental by the OpenAI SDK; it is exactly what SK documents for ReasoningEffort.
#pragma warning disable OPENAI001

namespace RecurrentDepth.SemanticKernel.Tests;

/// <summary>
/// Inputs that used to pass silently: each now either takes effect or fails with an <see cref="ArgumentException"/>
/// naming the setting, before the engine sees the request, and the next request is served.
/// </summary>
public sealed class StrictInputTests
{
    /// <summary>An effort given as some provider's object: only its string form says which.</summary>
    private sealed class EffortObject(string text)
    {
        public override string ToString() => text;
    }

    private static async Task AssertServesNextRequest(FakeInferenceEngine engine, RecurrentDepthChatCompletionService service)
    {
        int before = engine.Requests.Count;
        var reply = await service.GetChatMessageContentAsync(new ChatHistory("next"));
        Assert.Equal(FakeInferenceEngine.ExpectedText(), reply.Content);
        Assert.Equal(before + 1, engine.Requests.Count);
    }

    public static TheoryData<string, int> OpenAiEffortLevels => new()
    {
        // The design table: low 8 steps, medium up to 16, high up to 32.
        { "low", 8 },
        { "medium", 16 },
        { "high", 32 },
    };

    [Theory]
    [MemberData(nameof(OpenAiEffortLevels))]
    public async Task OpenAI_ChatReasoningEffortLevel_values_set_the_depth(string level, int expectedMaxSteps)
    {
        var typed = level switch
        {
            "low" => ChatReasoningEffortLevel.Low,
            "medium" => ChatReasoningEffortLevel.Medium,
            _ => ChatReasoningEffortLevel.High,
        };
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());

        await service.GetChatMessageContentAsync(new ChatHistory("q"), new OpenAIPromptExecutionSettings { ReasoningEffort = typed });
        Assert.Equal(expectedMaxSteps, engine.LastRequest.Depth.MaxSteps);

        await service.GetChatMessageContentAsync(new ChatHistory("q"), new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["reasoning_effort"] = typed } });
        Assert.Equal(expectedMaxSteps, engine.LastRequest.Depth.MaxSteps);
    }

    [Fact]
    public async Task Any_object_whose_string_form_is_an_effort_sets_the_depth_on_both_surfaces()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        await service.GetChatMessageContentAsync(new ChatHistory("q"), new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["thinking_effort"] = new EffortObject("xhigh") } });
        Assert.Equal(64, engine.LastRequest.Depth.MaxSteps);

        await client.GetResponseAsync("q", new ChatOptions { AdditionalProperties = new() { ["reasoning_effort"] = new EffortObject("none") } });
        Assert.Equal(4, engine.LastRequest.Depth.MaxSteps);

        await client.GetResponseAsync("q", new ChatOptions { AdditionalProperties = new() { ["reasoning_effort"] = ChatReasoningEffortLevel.Low } });
        Assert.Equal(8, engine.LastRequest.Depth.MaxSteps);
    }

    [Fact]
    public async Task An_effort_object_whose_string_form_is_no_effort_is_rejected_naming_the_setting()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var sk = await Assert.ThrowsAnyAsync<ArgumentException>(() => service.GetChatMessageContentAsync(new ChatHistory("q"),
            new OpenAIPromptExecutionSettings { ReasoningEffort = new EffortObject("ultra") }));
        var meai = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync("q",
            new ChatOptions { AdditionalProperties = new() { ["reasoning_effort"] = new EffortObject("ultra") } }));

        Assert.Equal("reasoning_effort", sk.ParamName);
        Assert.Equal("reasoning_effort", meai.ParamName);
        Assert.Contains("'ultra'", sk.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
        await AssertServesNextRequest(engine, service);
    }

    [Theory]
    [InlineData(129)]
    [InlineData(100_000)]
    public async Task Recurrence_steps_above_MaxRecurrenceSteps_are_rejected_on_both_surfaces(int steps)
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var sk = await Assert.ThrowsAnyAsync<ArgumentException>(() => service.GetChatMessageContentAsync(new ChatHistory("q"), new RecurrentDepthPromptExecutionSettings { RecurrenceSteps = steps }));
        var meai = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync("q", new ChatOptions { AdditionalProperties = new() { ["recurrence_steps"] = steps } }));

        Assert.Equal("recurrence_steps", sk.ParamName);
        Assert.Equal("recurrence_steps", meai.ParamName);
        Assert.Contains("between 1 and 128", sk.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
        await AssertServesNextRequest(engine, service);

        await service.GetChatMessageContentAsync(new ChatHistory("q"), new RecurrentDepthPromptExecutionSettings { RecurrenceSteps = 128 });
        Assert.Equal(128, engine.LastRequest.Depth.MaxSteps);
    }

    [Fact]
    public void MaxRecurrenceSteps_also_caps_the_effort_profiles_and_the_message_names_both_options()
    {
        var options = TestOptions.Create(o => o.MaxRecurrenceSteps = 16);

        var error = Assert.Throws<ArgumentException>(() => new RecurrentDepthChatClient(new FakeInferenceEngine(), options));

        // high (32), xhigh (64) and adaptive (64) exceed 16; none, low and medium fit.
        Assert.Contains("RecurrentDepth:EffortProfiles:High:MaxSteps is 32; RecurrentDepth:MaxRecurrenceSteps allows at most 16.", error.Message, StringComparison.Ordinal);
        Assert.Contains("EffortProfiles:ExtraHigh:MaxSteps is 64", error.Message, StringComparison.Ordinal);
        Assert.Contains("EffortProfiles:Adaptive:MaxSteps is 64", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("EffortProfiles:Medium", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_stop_sequence_is_rejected_on_both_surfaces()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var sk = await Assert.ThrowsAnyAsync<ArgumentException>(() => service.GetChatMessageContentAsync(new ChatHistory("q"), new RecurrentDepthPromptExecutionSettings { StopSequences = ["END", ""] }));
        var meai = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync("q", new ChatOptions { StopSequences = [""] }));

        Assert.Equal("stop_sequences", sk.ParamName);
        Assert.Equal("stop_sequences", meai.ParamName);
        Assert.Contains("stop_sequences[1] is empty", sk.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
        await AssertServesNextRequest(engine, service);
    }

    [Fact]
    public async Task A_user_message_without_text_is_rejected_on_both_surfaces()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
        var history = new ChatHistory("be brief");
        history.Add(new ChatMessageContent(AuthorRole.User, content: null));

        var sk = await Assert.ThrowsAnyAsync<ArgumentException>(() => service.GetChatMessageContentAsync(history));
        var meai = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "")]));

        Assert.Equal("messages", sk.ParamName);
        Assert.Equal("messages", meai.ParamName);
        Assert.Contains("Message 1 (role user) has no text content", sk.Message, StringComparison.Ordinal);
        Assert.Contains("Message 0 (role user)", meai.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
        await AssertServesNextRequest(engine, service);
    }

    [Fact]
    public async Task A_model_that_stops_mid_answer_fails_non_streaming_calls_saying_so_and_streams_show_the_cancelled_finish()
    {
        var engine = new FakeInferenceEngine("huginn-fake") { StopAfterFirstToken = true };
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var sk = await Assert.ThrowsAsync<ModelNotReadyException>(() => service.GetChatMessageContentAsync(new ChatHistory("q")));
        var meai = await Assert.ThrowsAsync<ModelNotReadyException>(() => client.GetResponseAsync("q"));
        Assert.Contains("Model 'huginn-fake' stopped", sk.Message, StringComparison.Ordinal);
        Assert.Contains("after 1 token(s)", meai.Message, StringComparison.Ordinal);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("q"))
        {
            updates.Add(update);
        }

        Assert.Equal("The", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal("cancelled", updates[^1].FinishReason?.Value);

        engine.StopAfterFirstToken = false;
        await AssertServesNextRequest(engine, service);
    }
}
