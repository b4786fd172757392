using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using RecurrentDepth.Generation;
using RecurrentDepth.SemanticKernel.Tests.Fakes;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class EffortMappingTests
{
    // spelling, max steps, criterion, threshold, min steps: the design table.
    public static TheoryData<string, int, ExitCriterion, double?, int> Spellings => new()
    {
        { "none", 4, ExitCriterion.None, null, 0 },
        { "minimal", 4, ExitCriterion.None, null, 0 },
        { "low", 8, ExitCriterion.None, null, 0 },
        { "medium", 16, ExitCriterion.Kl, 5e-4, 0 },
        { "high", 32, ExitCriterion.Kl, 5e-4, 0 },
        { "xhigh", 64, ExitCriterion.Kl, 5e-4, 0 },
        { "extra_high", 64, ExitCriterion.Kl, 5e-4, 0 },
        { "extrahigh", 64, ExitCriterion.Kl, 5e-4, 0 },
        { "HIGH", 32, ExitCriterion.Kl, 5e-4, 0 },
        { "adaptive", 64, ExitCriterion.Kl, 5e-4, 4 },
    };

    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task Sk_thinking_effort_in_extension_data_follows_the_table(string spelling, int max, ExitCriterion criterion, double? threshold, int min)
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());
        var settings = new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["thinking_effort"] = spelling } };

        var reply = await service.GetChatMessageContentAsync(new ChatHistory("Solve it."), settings);

        AssertDepth(engine, max, criterion, threshold, min);
        Assert.Equal((double)max, Convert.ToDouble(reply.Metadata![K.AppliedMaxSteps]));
        Assert.Equal(ExpectedMean(max, criterion, min), (double)reply.Metadata[K.MeanSteps]!, 6);
        Assert.Equal(criterion.ToReferenceName(), reply.Metadata[K.ExitCriterion]);
    }

    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task Sk_openai_reasoning_effort_follows_the_table(string spelling, int max, ExitCriterion criterion, double? threshold, int min)
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());

        var reply = await service.GetChatMessageContentAsync(new ChatHistory("Solve it."), new OpenAIPromptExecutionSettings { ReasoningEffort = spelling });

        AssertDepth(engine, max, criterion, threshold, min);
        Assert.Equal("reasoning_effort", reply.Metadata![K.DepthSource]);
    }

    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task Meai_thinking_effort_in_additional_properties_follows_the_table(string spelling, int max, ExitCriterion criterion, double? threshold, int min)
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());
        var options = new ChatOptions { AdditionalProperties = new() { ["thinking_effort"] = spelling } };

        var response = await client.GetResponseAsync("Solve it.", options);

        AssertDepth(engine, max, criterion, threshold, min);
        Assert.Equal(max, response.Usage!.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.Equal((long)Math.Round(ExpectedMean(max, criterion, min) * 1000), response.Usage.AdditionalCounts[K.MeanStepsX1000]);
    }

    [Theory]
    [InlineData(ReasoningEffort.None, 4, ExitCriterion.None)]
    [InlineData(ReasoningEffort.Low, 8, ExitCriterion.None)]
    [InlineData(ReasoningEffort.Medium, 16, ExitCriterion.Kl)]
    [InlineData(ReasoningEffort.High, 32, ExitCriterion.Kl)]
    [InlineData(ReasoningEffort.ExtraHigh, 64, ExitCriterion.Kl)]
    public async Task Meai_reasoning_effort_follows_the_table_and_keeps_none(ReasoningEffort effort, int max, ExitCriterion criterion)
    {
        var engine = new FakeInferenceEngine();
        using var client = new RecurrentDepthChatClient(engine, TestOptions.Create());

        var response = await client.GetResponseAsync("Solve it.", new ChatOptions { Reasoning = new ReasoningOptions { Effort = effort } });

        AssertDepth(engine, max, criterion, criterion == ExitCriterion.None ? null : 5e-4, 0);
        Assert.Equal(max, response.Usage!.AdditionalCounts![K.AppliedMaxSteps]);
    }

    [Theory]
    [InlineData(ThinkingEffort.None, 4, ExitCriterion.None, 0)]
    [InlineData(ThinkingEffort.Low, 8, ExitCriterion.None, 0)]
    [InlineData(ThinkingEffort.Medium, 16, ExitCriterion.Kl, 0)]
    [InlineData(ThinkingEffort.High, 32, ExitCriterion.Kl, 0)]
    [InlineData(ThinkingEffort.ExtraHigh, 64, ExitCriterion.Kl, 0)]
    [InlineData(ThinkingEffort.Adaptive, 64, ExitCriterion.Kl, 4)]
    public async Task Typed_sk_settings_map_every_effort(ThinkingEffort effort, int max, ExitCriterion criterion, int min)
    {
        var engine = new FakeInferenceEngine();
        var service = new RecurrentDepthChatCompletionService(engine, TestOptions.Create());

        await service.GetChatMessageContentAsync(new ChatHistory("q"), new RecurrentDepthPromptExecutionSettings { ThinkingEffort = effort });

        // The design table's numbers, written out: not read back from EffortProfiles, the table under test.
        AssertDepth(engine, max, criterion, criterion == ExitCriterion.None ? null : 5e-4, min);
    }

    [Fact]
    public void Default_profiles_are_the_design_table()
    {
        var p = new EffortProfiles();
        Assert.Equal(EffortProfile.Fixed(4), p.None);
        Assert.Equal(EffortProfile.Fixed(8), p.Low);
        Assert.Equal(new EffortProfile { MaxSteps = 16, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }, p.Medium);
        Assert.Equal(new EffortProfile { MaxSteps = 32, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }, p.High);
        Assert.Equal(new EffortProfile { MaxSteps = 64, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }, p.ExtraHigh);
        Assert.Equal(new EffortProfile { MaxSteps = 64, Criterion = ExitCriterion.Kl, Threshold = 5e-4, MinSteps = 4 }, p.Adaptive);
    }

    private static void AssertDepth(FakeInferenceEngine engine, int max, ExitCriterion criterion, double? threshold, int min)
    {
        var depth = engine.LastRequest.Depth;
        Assert.Equal(max, depth.MaxSteps);
        Assert.Equal(criterion, depth.Criterion);
        Assert.Equal(threshold, depth.Threshold);
        Assert.Equal(min, depth.MinSteps);
    }

    private static double ExpectedMean(int max, ExitCriterion criterion, int min)
    {
        var depth = new DepthPolicy { MaxSteps = max, Criterion = criterion, MinSteps = min };
        int n = FakeInferenceEngine.Words.Length;
        return Enumerable.Range(0, n).Select(i => FakeInferenceEngine.StepsFor(depth, i == n - 1)).Average();
    }
}
