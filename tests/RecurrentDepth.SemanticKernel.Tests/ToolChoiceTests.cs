using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.SemanticKernel.Tests.Fakes;

namespace RecurrentDepth.SemanticKernel.Tests;

/// <summary>
/// Until tool calling exists: a request that requires a tool call fails naming the feature; tools merely offered are
/// ignored with one warning per client.
/// </summary>
public sealed class ToolChoiceTests
{
    private static readonly AIFunction Add = AIFunctionFactory.Create((int a, int b) => a + b, "add");

    public static TheoryData<string, string> RequiredModes => new()
    {
        { "any", "ChatToolMode.RequireAny" },
        { "add", "ChatToolMode.RequireSpecific(\"add\")" },
    };

    [Theory]
    [MemberData(nameof(RequiredModes))]
    public async Task A_required_tool_call_fails_naming_the_feature_even_through_function_invocation(string mode, string named)
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
        using var pipeline = new ChatClientBuilder(client).UseFunctionInvocation().Build();
        var options = new ChatOptions { Tools = [Add], ToolMode = mode == "any" ? ChatToolMode.RequireAny : ChatToolMode.RequireSpecific(mode) };

        var direct = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync("1+2?", options));
        var invoked = await Assert.ThrowsAsync<NotSupportedException>(() => pipeline.GetResponseAsync("1+2?", options));

        Assert.Contains("Tool calling is not available", direct.Message, StringComparison.Ordinal);
        Assert.Contains(named, direct.Message, StringComparison.Ordinal);
        Assert.Contains(named, invoked.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
        Assert.Equal(FakeInferenceEngine.ExpectedText(), (await client.GetResponseAsync("next")).Text);
    }

    [Fact]
    public async Task SK_FunctionChoiceBehavior_Required_fails_naming_the_feature()
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        var kernel = new Kernel();
        kernel.Plugins.AddFromFunctions("math", [KernelFunctionFactory.CreateFromMethod((int a, int b) => a + b, "add")]);

        var error = await Assert.ThrowsAsync<NotSupportedException>(() => service.GetChatMessageContentAsync(
            new ChatHistory("1+2?"), new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Required() }, kernel));

        Assert.Contains("FunctionChoiceBehavior.Required()", error.Message, StringComparison.Ordinal);
        Assert.Empty(engine.Requests);
    }

    [Fact]
    public async Task Tools_merely_offered_are_ignored_with_one_warning_per_client()
    {
        var logs = new FakeLogCollector();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create(), factory);
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create(), factory);
        var offered = new ChatOptions { Tools = [Add], ToolMode = ChatToolMode.Auto };
        var auto = new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() };

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(FakeInferenceEngine.ExpectedText(), (await client.GetResponseAsync("q", offered)).Text);
            Assert.Equal(FakeInferenceEngine.ExpectedText(), (await service.GetChatMessageContentAsync(new ChatHistory("q"), auto)).Content);
        }

        var warnings = logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.Message.Contains("1 tool(s) in ChatOptions.Tools", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Message.Contains("FunctionChoiceBehavior.Auto()", StringComparison.Ordinal));
        Assert.Equal(6, engine.Requests.Count);
    }
}
