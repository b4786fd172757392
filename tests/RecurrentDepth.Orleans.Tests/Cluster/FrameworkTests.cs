using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace RecurrentDepth.Orleans.Tests.Cluster;

/// <summary>Semantic Kernel and Agent Framework code runs over the cluster with only the DI registration changed.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FrameworkTests(MicroCluster cluster)
{
    [Fact]
    public async Task A_kernel_over_the_cluster_chat_completion_answers_as_the_in_process_model_does()
    {
        var clustered = Kernel.CreateBuilder();
        clustered.Services.AddSingleton<IGrainFactory>(cluster.Cluster.Client);
        clustered.Services.AddRecurrentDepthClusterChatCompletion();
        var settings = new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["thinking_effort"] = "high" } };

        var answer = await clustered.Build().InvokePromptAsync("3+7*9+3=", new KernelArguments(settings));

        var expected = await cluster.Reference.GetResponseAsync([new ChatMessage(ChatRole.User, "3+7*9+3=")],
            new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High } });
        Assert.Equal(expected.Text, answer.GetValue<string>());
        Assert.NotEmpty(expected.Text);
    }

    [Fact]
    public async Task A_kernel_prompt_function_runs_over_the_cluster_chat_client()
    {
        var clustered = Kernel.CreateBuilder();
        clustered.Services.AddSingleton<IGrainFactory>(cluster.Cluster.Client);
        clustered.Services.AddRecurrentDepthClusterChatClient();

        var answer = await clustered.Build().InvokePromptAsync("9*3+7=");

        var expected = await cluster.Reference.GetResponseAsync([new ChatMessage(ChatRole.User, "9*3+7=")]);
        Assert.Equal(expected.Text, answer.GetValue<string>());
    }

    [Fact]
    public async Task A_chat_client_agent_keeps_its_session_in_one_conversation_grain()
    {
        var agent = new ChatClientAgent(cluster.Chat, instructions: "Answer with the digit.", name: "arith");
        var session = await agent.CreateSessionAsync();

        var first = await agent.RunAsync("3+7=", session);
        var second = await agent.RunAsync("9*3=", session);

        Assert.False(string.IsNullOrEmpty(first.Text));
        string conversationId = Assert.IsType<string>(Assert.IsType<ChatResponse>(first.RawRepresentation).ConversationId);
        Assert.Equal(conversationId, Assert.IsType<ChatResponse>(second.RawRepresentation).ConversationId);
        var stored = await cluster.Conversations.GetSnapshotAsync(conversationId);
        Assert.Equal(2, stored.CompletedTurns);
        Assert.Equal(["system", "user", "assistant", "user", "assistant"], stored.Messages.Select(m => m.Role));
        Assert.Equal(["3+7=", "9*3="], stored.Messages.Where(m => m.Role == "user").Select(m => m.Content));
        Assert.Equal(second.Text, stored.Messages[^1].Content);
    }
}
