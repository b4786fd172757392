using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

/// <summary>Prompt tokens the engine reused from its prefix cache reach MEAI usage and SK metadata.</summary>
public sealed class CachedInputTokensTests
{
    [Fact]
    public async Task Reused_prompt_tokens_are_the_MEAI_cached_input_token_count()
    {
        var engine = new FakeInferenceEngine("huginn-0125") { CachedInputTokens = 7 };
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "And the next turn?")]);
        ChatResponseUpdate? last = null;
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "And the next turn?")]))
        {
            last = update.Contents.OfType<UsageContent>().Any() ? update : last;
        }

        Assert.Equal(7, response.Usage!.CachedInputTokenCount);
        Assert.Equal(7, Assert.Single(last!.Contents.OfType<UsageContent>()).Details.CachedInputTokenCount);
    }

    [Fact]
    public async Task Reused_prompt_tokens_are_in_the_SK_metadata_and_usage()
    {
        var engine = new FakeInferenceEngine("huginn-0125") { CachedInputTokens = 5 };
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<IInferenceEngine>(engine);
        builder.Services.Configure<RecurrentDepthOptions>(o => o.EffortFallbackDelay = TimeSpan.Zero);
        builder.AddRecurrentDepthChatCompletion();
        var chat = builder.Build().GetRequiredService<IChatCompletionService>();

        var message = await chat.GetChatMessageContentAsync("And the next turn?");

        Assert.Equal(5L, message.Metadata![K.CachedInputTokens]);
        Assert.Equal(5, Assert.IsType<UsageDetails>(message.Metadata[K.Usage]).CachedInputTokenCount);
    }
}
