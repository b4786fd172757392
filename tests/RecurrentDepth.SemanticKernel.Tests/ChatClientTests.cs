using Microsoft.Extensions.AI;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class ChatClientTests
{
    private static readonly ChatOptions High = new() { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High } };

    [Fact]
    public async Task Response_carries_text_usage_compute_figures_finish_reason_and_model()
    {
        var engine = new FakeInferenceEngine("huginn-0125");
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "What is six times seven?")], High);

        int input = FakeInferenceEngine.InputTokensFor(engine.LastRequest);
        Assert.Equal(FakeInferenceEngine.ExpectedText(), response.Text);
        Assert.Equal("huginn-0125", response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal((long?)input, response.Usage!.InputTokenCount);
        Assert.Equal(5, response.Usage.OutputTokenCount);
        Assert.Equal(input + 5, response.Usage.TotalTokenCount);
        var counts = response.Usage.AdditionalCounts!;
        // High: 4 tokens exit at 16 steps, the last hits the cap of 32.
        Assert.Equal(16 * 4 + 32, counts[K.TotalSteps]);
        Assert.Equal(19_200, counts[K.MeanStepsX1000]);
        Assert.Equal(32, counts[K.MaxSteps]);
        Assert.Equal(1, counts[K.CapHitTokens]);
        Assert.Equal(200, counts[K.CapHitShareX1000]);
        Assert.Equal((long)((96 + input * 32) * FakeInferenceEngine.FlopsPerStep), counts[K.EffectiveFlops]);
        Assert.Equal(32, counts[K.AppliedMaxSteps]);
        Assert.Equal(32, counts[K.RequestedMaxSteps]);
        Assert.Equal(0, counts[K.FallbackLevels]);
        var figures = response.AdditionalProperties!;
        Assert.Equal(19.2, (double)figures[K.MeanSteps]!, 9);
        Assert.Equal(0.2, (double)figures[K.CapHitShare]!, 9);
        Assert.Equal("kl", figures[K.ExitCriterion]);
        Assert.Equal(5e-4, (double)figures[K.ExitThreshold]!);
        Assert.Equal("high", figures[K.ThinkingEffort]);
    }

    [Fact]
    public async Task Streaming_and_non_streaming_give_the_same_text_and_usage()
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var whole = await client.GetResponseAsync("q", High);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("q", High))
        {
            updates.Add(update);
        }

        var streamed = updates.ToChatResponse();
        Assert.Equal(FakeInferenceEngine.Words, updates.Where(u => u.Text.Length > 0).Select(u => u.Text));
        Assert.Equal(whole.Text, streamed.Text);
        Assert.Single(streamed.Messages);
        Assert.Equal(whole.Usage!.InputTokenCount, streamed.Usage!.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, streamed.Usage.OutputTokenCount);
        Assert.Equal(whole.Usage.TotalTokenCount, streamed.Usage.TotalTokenCount);
        Assert.Equal(whole.Usage.AdditionalCounts, streamed.Usage.AdditionalCounts);
        Assert.Equal(whole.FinishReason, streamed.FinishReason);
        Assert.Equal(whole.ModelId, streamed.ModelId);
    }

    [Fact]
    public void Get_service_answers_metadata_engine_and_self()
    {
        var engine = new FakeInferenceEngine("huginn-0125");
        using var client = new RecurrentDepthChatClient(engine);

        var metadata = client.GetService<ChatClientMetadata>()!;

        Assert.Equal(RecurrentDepthTelemetry.ProviderName, metadata.ProviderName);
        Assert.Equal("huginn-0125", metadata.DefaultModelId);
        Assert.Same(engine, client.GetService<IInferenceEngine>());
        Assert.Same(client, client.GetService<RecurrentDepthChatClient>());
        Assert.Null(client.GetService<ChatClientMetadata>("some-key"));
    }

    [Fact]
    public async Task Instructions_become_a_leading_system_turn()
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Instructions = "Be terse." });

        Assert.Equal([new("system", "Be terse."), new("user", "hi")], engine.LastRequest.Messages);
    }

    [Fact]
    public async Task A_chat_client_builder_pipeline_returns_text_and_usage()
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create())
            .AsBuilder()
            .UseOpenTelemetry(sourceName: "pipeline-test")
            .ConfigureOptions(o => o.AdditionalProperties ??= new() { ["thinking_effort"] = "low" })
            .Build();

        var response = await client.GetResponseAsync("q");

        Assert.Equal(FakeInferenceEngine.ExpectedText(), response.Text);
        Assert.Equal(5, response.Usage!.OutputTokenCount);
        Assert.Equal(8, response.Usage.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.Equal(8, engine.LastRequest.Depth.MaxSteps);
    }

    [Fact]
    public async Task Model_not_ready_surfaces_unchanged()
    {
        using var client = new RecurrentDepthChatClient(new NotReadyEngine());

        var error = await Assert.ThrowsAsync<ModelNotReadyException>(() => client.GetResponseAsync("q"));
        Assert.Contains("loading", error.Message, StringComparison.Ordinal);
    }

    private sealed class NotReadyEngine : IInferenceEngine
    {
        public string ModelId => "m";

        public EngineState State => EngineState.Loading;

        public string? FailureReason => null;

        public int QueueLength => 0;

        public int QueueCapacity => 1;

        public EngineLoad CurrentLoad => new() { QueueCapacity = 1 };

        public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default) =>
            throw new ModelNotReadyException("Model 'm' is still loading.");
    }
}
