using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace RecurrentDepth.SemanticKernel.Tests.Integration;

/// <summary>
/// <c>max_tokens</c> beyond the room left in the context is clamped, not rejected: generation stops at the context
/// limit with finish reason length (the documented behaviour of RecurrentDepthPromptExecutionSettings.MaxTokens).
/// </summary>
public sealed class MaxTokensClampTests
{
    [Fact]
    public async Task Max_tokens_far_above_the_context_limit_stops_at_the_limit_with_finish_reason_length()
    {
        var question = new ChatMessage(ChatRole.User, "q");
        int promptTokens;
        using (var probe = await RealModelHostTests.StartHostAsync(RealModelHostTests.TinyModel))
        {
            var first = await probe.Services.GetRequiredService<IChatClient>().GetResponseAsync([question], new ChatOptions { MaxOutputTokens = 1 });
            promptTokens = (int)first.Usage!.InputTokenCount!.Value;
            await probe.StopAsync();
        }

        // Room for exactly two generated tokens.
        using var host = await RealModelHostTests.StartHostAsync(RealModelHostTests.TinyModel, $""", "MaxContext": {promptTokens + 2}""");
        var client = host.Services.GetRequiredService<IChatClient>();

        var response = await client.GetResponseAsync([question], new ChatOptions { MaxOutputTokens = 1_000_000_000 });

        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(2, response.Usage!.OutputTokenCount);
        // The clamp harmed nothing: the next request is served.
        var next = await client.GetResponseAsync([question], new ChatOptions { MaxOutputTokens = 1 });
        Assert.Equal(1, next.Usage!.OutputTokenCount);
        await host.StopAsync();
    }
}
