using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using RecurrentDepth.SemanticKernel.Tests.Fakes;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class LatentReasoningPluginTests
{
    [Fact]
    public async Task Think_answers_at_the_requested_effort_with_a_compute_note()
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
        var kernel = new Kernel();
        var plugin = kernel.Plugins.AddFromObject(new LatentReasoningPlugin(client), "latent");

        var result = await kernel.InvokeAsync(plugin["think"], new KernelArguments { ["question"] = "Is 91 prime?", ["effort"] = "xhigh" });

        var text = result.GetValue<string>()!;
        Assert.StartsWith(FakeInferenceEngine.ExpectedText() + "\n\n[latent reasoning: effort xhigh, mean 38.4 steps/token, max 64 of cap 64, 20% of tokens hit the cap]", text, StringComparison.Ordinal);
        Assert.Equal(64, engine.LastRequest.Depth.MaxSteps);
        Assert.Equal("Is 91 prime?", engine.LastRequest.Messages[0].Content);
    }

    [Fact]
    public async Task Think_defaults_to_high_and_rejects_unknown_efforts_naming_the_argument()
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
        var plugin = new LatentReasoningPlugin(client);

        await plugin.ThinkAsync("q");
        Assert.Equal(32, engine.LastRequest.Depth.MaxSteps);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => plugin.ThinkAsync("q", "galaxy-brain"));
        Assert.Equal("effort", error.ParamName);
    }

    [Fact]
    public void The_function_is_described_for_the_orchestrating_model()
    {
        var plugin = KernelPluginFactory.CreateFromObject(new LatentReasoningPlugin(new RecurrentDepthChatClient(new FakeInferenceEngine())), "latent");

        var think = plugin["think"];
        Assert.False(string.IsNullOrWhiteSpace(think.Description));
        Assert.Equal(["question", "effort"], think.Metadata.Parameters.Select(p => p.Name));
        Assert.False(think.Metadata.Parameters[1].IsRequired);
    }
}
