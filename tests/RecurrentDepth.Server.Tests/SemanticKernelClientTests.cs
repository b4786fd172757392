using System.Text.Json;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;

namespace RecurrentDepth.Server.Tests;

/// <summary>Semantic Kernel's own OpenAI connector, pointed at the server, with effort as <c>ReasoningEffort</c>.</summary>
[Collection(ServedCollection.Name)]
public sealed class SemanticKernelClientTests(ServedModel served)
{
    private async Task<(ChatMessageContent Reply, JsonElement Latent)> AskAsync(string effort)
    {
        var kernel = Kernel.CreateBuilder().AddOpenAIChatCompletion(ServerHost.ModelId, served.Host.V1, apiKey: "unused").Build();
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        var history = new ChatHistory();
        history.AddUserMessage("3+7*9+3=");
        var reply = await chat.GetChatMessageContentAsync(history, new OpenAIPromptExecutionSettings { ReasoningEffort = effort });
        return (reply, Wire.LatentCompute(Wire.JsonOf((OpenAI.Chat.ChatCompletion)reply.InnerContent!)));
    }

    [Fact]
    public async Task SK_OpenAI_connector_gets_text_usage_finish_reason_and_effort_changes_the_reported_steps()
    {
        var (low, lowLatent) = await AskAsync("low");
        var (high, highLatent) = await AskAsync("high");

        Assert.Matches("^[0-9]$", low.Content);
        Assert.Equal("Stop", low.Metadata!["FinishReason"]?.ToString());
        var usage = Assert.IsType<OpenAI.Chat.ChatTokenUsage>(high.Metadata!["Usage"]);
        Assert.True(usage.InputTokenCount > 0);
        Assert.True(usage.OutputTokenCount > 0);

        Assert.Equal(8, lowLatent.GetProperty("applied_max_steps").GetInt32());
        Assert.Equal(8.0, lowLatent.GetProperty("mean_recurrence_steps").GetDouble());
        Assert.Equal(32, highLatent.GetProperty("applied_max_steps").GetInt32());
        Assert.Equal("high", highLatent.GetProperty("thinking_effort").GetString());
        // high exits by KL when a token has converged, so its steps are whatever the tokens needed, not low's fixed 8.
        Assert.NotEqual(lowLatent.GetProperty("total_recurrence_steps").GetInt64(), highLatent.GetProperty("total_recurrence_steps").GetInt64());
    }
}
