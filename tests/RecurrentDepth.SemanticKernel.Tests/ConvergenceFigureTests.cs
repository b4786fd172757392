using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

/// <summary>The engine's convergence figures reach MEAI usage, MEAI properties and SK metadata, streaming and not.</summary>
public sealed class ConvergenceFigureTests
{
    // Tokens 1 and 3 of the five end unconverged (above 5e-4); token 3 is the worst.
    private static double? Values(int token) => token switch { 1 => 0.01, 3 => 0.25, _ => 1e-5 };

    [Theory]
    [InlineData("none")]
    [InlineData("high")]
    [InlineData("adaptive")]
    public async Task Chat_client_reports_unconverged_share_and_worst_value(string effort)
    {
        var engine = new FakeInferenceEngine { ExitValue = (_, i) => Values(i) };
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
        var options = new ChatOptions { AdditionalProperties = new() { ["thinking_effort"] = effort } };

        var response = await client.GetResponseAsync("q", options);

        var counts = response.Usage!.AdditionalCounts!;
        Assert.Equal(2, counts[K.UnconvergedTokens]);
        Assert.Equal(400, counts[K.UnconvergedShareX1000]);
        Assert.Equal(250_000, counts[K.MaxExitValueX1e6]);
        Assert.Equal(0.4, (double)response.AdditionalProperties![K.UnconvergedShare]!, 12);
        Assert.Equal(0.25, (double)response.AdditionalProperties[K.MaxExitValue]!, 12);
    }

    [Fact]
    public async Task Streaming_chat_client_carries_the_figures_on_its_last_update()
    {
        var engine = new FakeInferenceEngine { ExitValue = (_, i) => Values(i) };
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync("q"))
        {
            updates.Add(update);
        }

        var usage = updates[^1].Contents.OfType<UsageContent>().Single().Details;
        Assert.Equal(2, usage.AdditionalCounts![K.UnconvergedTokens]);
        Assert.Equal(0.4, (double)updates[^1].AdditionalProperties![K.UnconvergedShare]!, 12);
        Assert.Equal(0.25, (double)updates[^1].AdditionalProperties![K.MaxExitValue]!, 12);
    }

    [Fact]
    public async Task Sk_metadata_carries_the_figures_streaming_and_not()
    {
        var engine = new FakeInferenceEngine { ExitValue = (_, i) => Values(i) };
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        var settings = new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.Low };

        var whole = await service.GetChatMessageContentAsync(new ChatHistory("q"), settings);
        var chunks = new List<StreamingChatMessageContent>();
        await foreach (var chunk in service.GetStreamingChatMessageContentsAsync(new ChatHistory("q"), settings))
        {
            chunks.Add(chunk);
        }

        foreach (var metadata in new[] { whole.Metadata!, chunks[^1].Metadata! })
        {
            Assert.Equal(2, metadata[K.UnconvergedTokens]);
            Assert.Equal(0.4, (double)metadata[K.UnconvergedShare]!, 12);
            Assert.Equal(0.25, (double)metadata[K.MaxExitValue]!, 12);
            Assert.Equal(2, ((UsageDetails)metadata[K.Usage]!).AdditionalCounts![K.UnconvergedTokens]);
        }
    }

    [Fact]
    public async Task Without_measured_values_the_worst_value_is_absent_and_nothing_is_unconverged()
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var response = await client.GetResponseAsync("q");

        Assert.Equal(0, response.Usage!.AdditionalCounts![K.UnconvergedTokens]);
        Assert.False(response.Usage.AdditionalCounts.ContainsKey(K.MaxExitValueX1e6));
        Assert.False(response.AdditionalProperties!.ContainsKey(K.MaxExitValue));
    }
}
