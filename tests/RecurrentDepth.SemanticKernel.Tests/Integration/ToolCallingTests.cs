using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Microsoft.Agents.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel.Tests.Fakes;

namespace RecurrentDepth.SemanticKernel.Tests.Integration;

/// <summary>
/// Tool calling and structured output through MEAI, SK and Agent Framework over the real engine and the random-weight
/// fixture model: the constraint, not the weights, makes the calls well formed.
/// </summary>
public sealed class ToolCallingTests : IDisposable
{
    private static readonly JsonElement AddSchema = AIFunctionFactory.Create((int a, int b) => a + b, "add").JsonSchema;
    private readonly InferenceEngine _engine = InferenceEngine.Load(new EngineOptions
    {
        ModelPath = RealModelHostTests.TinyModel,
        Device = "cpu",
        DType = "float32",
        MaxBatch = 20,
    });

    public void Dispose() => _engine.Dispose();

    private static ChatOptions Options(int seed) => new()
    {
        MaxOutputTokens = 64,
        Seed = seed,
        Temperature = 0.8f,
        AdditionalProperties = new() { ["recurrence_steps"] = 1 },
    };

    private static void AssertValid(JsonElement schema, string json)
    {
        var result = JsonSchema.FromText(schema.GetRawText()).Evaluate(JsonNode.Parse(json));
        Assert.True(result.IsValid, $"{json} does not validate against {schema.GetRawText()}");
    }

    [Fact]
    public async Task Meai_function_invocation_under_require_any_calls_the_tool_with_valid_arguments_then_answers_in_text()
    {
        var calls = new List<string>();
        var add = AIFunctionFactory.Create((int a, int b) =>
        {
            calls.Add(JsonSerializer.Serialize(new { a, b }));
            return a + b;
        }, "add", "Adds two integers.");
        using var client = new RecurrentDepthChatClient(_engine, TestOptions.Create()).AsBuilder().UseFunctionInvocation().Build();
        var options = Options(3);
        options.Tools = [add];
        options.ToolMode = ChatToolMode.RequireAny;

        var response = await client.GetResponseAsync("What is 2 + 3?", options);

        Assert.NotEmpty(calls);
        Assert.All(calls, c => AssertValid(AddSchema, c));
        Assert.Contains(response.Messages, m => m.Contents.OfType<Microsoft.Extensions.AI.FunctionResultContent>().Any());
        var last = response.Messages[^1];
        Assert.Equal(ChatRole.Assistant, last.Role);
        Assert.DoesNotContain(last.Contents, c => c is Microsoft.Extensions.AI.FunctionCallContent);
        Assert.False(string.IsNullOrEmpty(last.Text));
    }

    [Fact]
    public async Task A_required_call_without_invocation_comes_back_as_function_call_content()
    {
        using var client = new RecurrentDepthChatClient(_engine, TestOptions.Create());
        var options = Options(5);
        options.Tools = [AIFunctionFactory.Create((int a, int b) => a + b, "add")];
        options.ToolMode = ChatToolMode.RequireAny;

        var response = await client.GetResponseAsync("Add 1 and 2.", options);

        var call = Assert.IsType<Microsoft.Extensions.AI.FunctionCallContent>(Assert.Single(response.Messages[^1].Contents.OfType<Microsoft.Extensions.AI.FunctionCallContent>()));
        Assert.Equal("add", call.Name);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        AssertValid(AddSchema, JsonSerializer.Serialize(call.Arguments));
    }

    [Fact]
    public async Task Sk_required_function_choice_invokes_the_kernel_function_then_answers()
    {
        var plugin = new CalculatorPlugin();
        var builder = Kernel.CreateBuilder();
        builder.Services.AddKeyedSingleton<IChatCompletionService>(null, new RecurrentDepthChatCompletionService(_engine, TestOptions.Create()));
        builder.Plugins.AddFromObject(plugin, "calc");
        var kernel = builder.Build();
        var settings = new RecurrentDepthPromptExecutionSettings
        {
            FunctionChoiceBehavior = FunctionChoiceBehavior.Required(),
            MaxTokens = 64,
            Seed = 2,
            Temperature = 0.8,
            RecurrenceSteps = 1,
        };

        var result = await kernel.InvokePromptAsync("What is 4 + 5?", new KernelArguments(settings));

        Assert.NotEmpty(plugin.Calls);
        Assert.All(plugin.Calls, c => AssertValid(AddSchema, c));
        Assert.False(string.IsNullOrEmpty(result.ToString()));
    }

    [Fact]
    public async Task A_chat_client_agent_with_a_tool_calls_it_and_answers()
    {
        var calls = new List<string>();
        var add = AIFunctionFactory.Create((int a, int b) =>
        {
            calls.Add(JsonSerializer.Serialize(new { a, b }));
            return a + b;
        }, "add", "Adds two integers.");
        using var client = new RecurrentDepthChatClient(_engine, TestOptions.Create());
        var agent = new ChatClientAgent(client, instructions: "Use the tool.", name: "calc", tools: [add]);
        var options = Options(4);
        options.ToolMode = ChatToolMode.RequireAny;

        var response = await agent.RunAsync("2 + 2?", options: new ChatClientAgentRunOptions(options));

        Assert.NotEmpty(calls);
        Assert.All(calls, c => AssertValid(AddSchema, c));
        Assert.False(string.IsNullOrEmpty(response.Text));
    }

    [Fact]
    public async Task Json_response_format_greedy_and_sampled_always_parses_and_typed_responses_deserialize()
    {
        using var client = new RecurrentDepthChatClient(_engine, TestOptions.Create());
        var runs = Enumerable.Range(0, 12).Select(async seed =>
        {
            var options = Options(seed);
            options.Temperature = seed < 2 ? 0 : 1;
            options.ResponseFormat = ChatResponseFormat.Json;
            return (await client.GetResponseAsync("Give me JSON.", options)).Text;
        });
        foreach (var text in await Task.WhenAll(runs))
        {
            using var document = JsonDocument.Parse(text);
        }

        var typed = await client.GetResponseAsync<Reading>("A reading, please.", Options(9));
        Assert.True(typed.TryGetResult(out var reading), typed.Text);
        Assert.NotNull(reading);
    }

    [Fact]
    public async Task Sk_response_format_type_constrains_the_reply_to_its_schema()
    {
        var service = new RecurrentDepthChatCompletionService(_engine, TestOptions.Create());
        var settings = new RecurrentDepthPromptExecutionSettings { ResponseFormat = typeof(Reading), MaxTokens = 64, Seed = 1, Temperature = 1, RecurrenceSteps = 1 };

        var reply = await service.GetChatMessageContentAsync("A reading.", settings);

        AssertValid(AIJsonUtilities.CreateJsonSchema(typeof(Reading)), reply.Content!);
    }

    [Fact]
    public async Task An_unsupported_schema_fails_at_request_time_naming_the_keyword()
    {
        using var client = new RecurrentDepthChatClient(_engine, TestOptions.Create());
        var options = Options(1);
        options.ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("""{"type":"string","pattern":"^a+$"}""").RootElement);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("x", options));
        Assert.Contains("'pattern'", error.Message, StringComparison.Ordinal);
    }

    public sealed record Reading(string Sensor, double Value, bool Ok);

    public sealed class CalculatorPlugin
    {
        public List<string> Calls { get; } = [];

        [KernelFunction("add"), Description("Adds two integers.")]
        public int Add(int a, int b)
        {
            Calls.Add(JsonSerializer.Serialize(new { a, b }));
            return a + b;
        }
    }
}
