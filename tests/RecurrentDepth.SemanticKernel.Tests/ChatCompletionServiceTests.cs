using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using Microsoft.SemanticKernel.Services;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class ChatCompletionServiceTests
{
    private static Kernel KernelOver(FakeInferenceEngine engine)
    {
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<IInferenceEngine>(engine);
        builder.Services.Configure<RecurrentDepthOptions>(o => o.EffortFallbackDelay = TimeSpan.Zero);
        builder.AddRecurrentDepthChatCompletion();
        return builder.Build();
    }

    [Fact]
    public async Task Invoke_prompt_returns_text_and_usage()
    {
        var engine = new FakeInferenceEngine("huginn-0125");
        var kernel = KernelOver(engine);

        var result = await kernel.InvokePromptAsync("What is {{$a}} times {{$b}}?",
            new KernelArguments(new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.High }) { ["a"] = "six", ["b"] = "seven" });

        Assert.Equal(FakeInferenceEngine.ExpectedText(), result.ToString());
        Assert.Equal("What is six times seven?", Assert.Single(engine.LastRequest.Messages).Content);
        var message = result.GetValue<ChatMessageContent>()!;
        Assert.Equal("huginn-0125", message.ModelId);
        var usage = Assert.IsType<UsageDetails>(message.Metadata![K.Usage]);
        Assert.Equal(5, usage.OutputTokenCount);
        Assert.Equal(usage.InputTokenCount + 5, usage.TotalTokenCount);
        Assert.Equal("stop", message.Metadata[K.FinishReason]);
        Assert.Equal(32, engine.LastRequest.Depth.MaxSteps);
        Assert.Equal(0.2, (double)message.Metadata[K.CapHitShare]!, 9);
    }

    [Theory]
    [InlineData("high", 32)]
    [InlineData("minimal", 4)]
    [InlineData("none", 4)]
    public async Task Invoke_prompt_with_openai_settings_maps_reasoning_effort_without_losing_none(string effort, int steps)
    {
        var engine = new FakeInferenceEngine();
        var kernel = KernelOver(engine);

        var result = await kernel.InvokePromptAsync("q", new KernelArguments(new OpenAIPromptExecutionSettings { ReasoningEffort = effort, MaxTokens = 4, Temperature = 0.25 }));

        Assert.Equal(FakeInferenceEngine.ExpectedText(4), result.ToString());
        Assert.Equal(steps, engine.LastRequest.Depth.MaxSteps);
        Assert.Equal((4, 0.25), (engine.LastRequest.MaxNewTokens, engine.LastRequest.Sampling.Temperature));
        Assert.Equal("length", result.GetValue<ChatMessageContent>()!.Metadata![K.FinishReason]);
    }

    [Fact]
    public async Task Streaming_and_non_streaming_give_the_same_text_and_metadata()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        var settings = new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.Adaptive };

        var whole = await service.GetChatMessageContentAsync(new ChatHistory("q"), settings);
        var chunks = new List<StreamingChatMessageContent>();
        await foreach (var chunk in service.GetStreamingChatMessageContentsAsync(new ChatHistory("q"), settings))
        {
            chunks.Add(chunk);
        }

        Assert.Equal(whole.Content, string.Concat(chunks.Select(c => c.Content)));
        var last = chunks[^1].Metadata!;
        var wholeUsage = (UsageDetails)whole.Metadata![K.Usage]!;
        var lastUsage = (UsageDetails)last[K.Usage]!;
        Assert.Equal((wholeUsage.InputTokenCount, wholeUsage.OutputTokenCount, wholeUsage.TotalTokenCount), (lastUsage.InputTokenCount, lastUsage.OutputTokenCount, lastUsage.TotalTokenCount));
        Assert.Equal(wholeUsage.AdditionalCounts, lastUsage.AdditionalCounts);
        foreach (var key in new[] { K.MeanSteps, K.MaxSteps, K.CapHitShare, K.EffectiveFlops, K.AppliedMaxSteps, K.ExitCriterion, K.ThinkingEffort, K.FinishReason })
        {
            Assert.Equal(whole.Metadata[key], last[key]);
        }

        Assert.All(chunks.SkipLast(1), c => Assert.Null(c.Metadata));
    }

    [Fact]
    public void Attributes_carry_the_model_id()
    {
        var service = new RecurrentDepthChatCompletionService(new FakeInferenceEngine("huginn-0125"));

        Assert.Equal("huginn-0125", service.GetModelId());
        Assert.Equal("huginn-0125", service.Attributes[AIServiceExtensions.ModelIdKey]);
    }

    [Fact]
    public async Task Chat_history_roles_reach_the_engine()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine);
        var history = new ChatHistory("You are terse.");
        history.AddUserMessage("Hi");
        history.AddAssistantMessage("Hello.");
        history.AddUserMessage("Sum 2 and 2.");

        await service.GetChatMessageContentAsync(history);

        Assert.Equal(["system", "user", "assistant", "user"], engine.LastRequest.Messages.Select(m => m.Role));
    }

    [Fact]
    public async Task A_message_with_several_text_items_reaches_the_model_whole()
    {
        var engine = new FakeInferenceEngine("huginn-0125");
        var service = new RecurrentDepthChatCompletionService(engine);
        var history = new ChatHistory();
        history.Add(new ChatMessageContent(AuthorRole.User, [new Microsoft.SemanticKernel.TextContent("Read this: "), new Microsoft.SemanticKernel.TextContent("the second part.")]));

        await service.GetChatMessageContentsAsync(history);

        Assert.Equal("Read this: the second part.", Assert.Single(engine.LastRequest.Messages).Content);
    }
}
