using System.ClientModel;
using System.Text;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace RecurrentDepth.Server.Tests;

/// <summary>The official OpenAI .NET SDK and MEAI's OpenAI IChatClient against the server.</summary>
[Collection(ServedCollection.Name)]
public sealed class OpenAIClientTests(ServedModel served)
{
    private const string Problem = "3+7*9+3=";

    private ChatClient Sdk() => new(ServerHost.ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = served.Host.V1 });

    [Fact]
    public async Task OpenAI_SDK_ChatClient_gets_text_usage_finish_reason_and_latent_compute()
    {
        var result = await Sdk().CompleteChatAsync([new UserChatMessage(Problem)], new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.Low });

        var completion = result.Value;
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Matches("^[0-9]$", completion.Content[0].Text);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        var latent = Wire.LatentCompute(result.GetRawResponse().Content.ToString());
        // low is a fixed 8 steps per token.
        Assert.Equal(8, latent.GetProperty("max_recurrence_steps").GetInt32());
        Assert.Equal(8.0, latent.GetProperty("mean_recurrence_steps").GetDouble());
        Assert.Equal(1.0, latent.GetProperty("cap_hit_share").GetDouble());
        Assert.Equal("low", latent.GetProperty("thinking_effort").GetString());
        Assert.True(latent.GetProperty("effective_flops").GetDouble() > 0);
    }

    [Fact]
    public async Task OpenAI_SDK_streaming_gives_the_same_text_and_usage_as_non_streaming_for_the_same_seed()
    {
        var options = new ChatCompletionOptions { Temperature = 1.0f, Seed = 42, ReasoningEffortLevel = ChatReasoningEffortLevel.Medium };
        var whole = (await Sdk().CompleteChatAsync([new UserChatMessage(Problem)], options)).Value;

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Sdk().CompleteChatStreamingAsync([new UserChatMessage(Problem)], options))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(
            Wire.LatentCompute(Wire.JsonOf(whole)).GetProperty("total_recurrence_steps").GetInt64(),
            Wire.LatentCompute($$"""{"usage":{{Wire.JsonOf(usage)}}}""").GetProperty("total_recurrence_steps").GetInt64());
    }

    [Fact]
    public async Task MEAI_OpenAI_IChatClient_gets_text_usage_and_finish_reason_streaming_and_not()
    {
        IChatClient client = Sdk().AsIChatClient();
        var options = new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High } };

        var response = await client.GetResponseAsync(Problem, options);
        var streamed = await client.GetStreamingResponseAsync(Problem, options).ToChatResponseAsync();

        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, response.FinishReason);
        Assert.Matches("^[0-9]$", response.Text);
        Assert.True(response.Usage?.InputTokenCount > 0);
        Assert.True(response.Usage?.OutputTokenCount > 0);
        Assert.Equal(response.Text, streamed.Text);
        Assert.Equal(response.Usage?.OutputTokenCount, streamed.Usage?.OutputTokenCount);
        var latent = Wire.LatentCompute(Wire.JsonOf((ChatCompletion)response.RawRepresentation!));
        Assert.Equal(32, latent.GetProperty("applied_max_steps").GetInt32());
        Assert.Equal("kl", latent.GetProperty("exit_criterion").GetString());
    }
}
