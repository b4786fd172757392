using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class AgentTests
{
    [Fact]
    public async Task Chat_client_agent_runs_with_a_per_run_effort()
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
        var agent = new ChatClientAgent(client, instructions: "Answer briefly.", name: "latent");

        var easy = await agent.RunAsync("2+2?", options: new ChatClientAgentRunOptions(new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.Low } }));
        var easyDepth = engine.LastRequest.Depth.MaxSteps;
        var hard = await agent.RunAsync("Prove it.", options: new ChatClientAgentRunOptions(new ChatOptions { AdditionalProperties = new() { ["thinking_effort"] = "xhigh" } }));

        Assert.Equal(8, easyDepth);
        Assert.Equal(64, engine.LastRequest.Depth.MaxSteps);
        Assert.Equal(FakeInferenceEngine.ExpectedText(), hard.Text);
        Assert.Equal(5, hard.Usage!.OutputTokenCount);
        Assert.Equal(64, hard.Usage.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.Equal(8, easy.Usage!.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.Contains(engine.LastRequest.Messages, m => m.Role == "system" && m.Content.Contains("Answer briefly.", StringComparison.Ordinal));
    }
}
