using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using RecurrentDepth.Caching;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Orleans.Conversations;
using RecurrentDepth.Orleans.Hosting;

namespace RecurrentDepth.Orleans.Tests.Unit;

public sealed class ContractSerializationTests
{
    private static Serializer CreateSerializer()
    {
        var services = new ServiceCollection().AddContractSerialization().BuildServiceProvider();
        return services.GetRequiredService<Serializer>();
    }

    [Fact]
    public void A_turn_keeps_every_generation_setting_across_the_wire()
    {
        var settings = new GenerationRequest
        {
            Depth = new DepthPolicy { MaxSteps = 24, MinSteps = 2, Criterion = ExitCriterion.Kl, Threshold = 1e-3, ContinuousCompute = true, InitScale = 0 },
            Sampling = new SamplingOptions { Temperature = 0.7, TopK = 5, TopP = 0.9, MinP = 0.05, RepetitionPenalty = 1.1 },
            Cache = CacheStrategy.Parse("compress-s4"),
            MaxNewTokens = 17,
            StopSequences = ["\n\n"],
            Seed = 42,
            Constraint = new OutputConstraint { Kind = OutputConstraintKind.Regex, Pattern = "[0-9]" },
            IgnoreEndOfTurn = true,
        };
        var turn = new ConversationTurn([new ConversationMessage("user", "3+7=")], settings);
        var serializer = CreateSerializer();

        var copy = serializer.Deserialize<ConversationTurn>(serializer.SerializeToArray(turn))!;

        Assert.Equal(turn.NewMessages, copy.NewMessages);
        Assert.Equal(settings.Depth, copy.Settings.Depth);
        Assert.Equal(settings.Sampling, copy.Settings.Sampling);
        Assert.Equal(settings.Cache, copy.Settings.Cache);
        Assert.Equal(settings.Constraint, copy.Settings.Constraint);
        Assert.Equal(settings.StopSequences, copy.Settings.StopSequences);
        Assert.Equal((17, 42L, true), (copy.Settings.MaxNewTokens, copy.Settings.Seed!.Value, copy.Settings.IgnoreEndOfTurn));
    }

    [Fact]
    public void A_final_update_keeps_its_summary_across_the_wire()
    {
        var summary = new GenerationSummary
        {
            InputTokens = 40, CachedInputTokens = 31, OutputTokens = 2, TotalSteps = 48, CapHitTokens = 1, MaxSteps = 32,
            UnconvergedTokens = 1, MaxExitValue = 0.25, EffectiveFlops = 1.5e9, KvCacheBytes = 4096, KvBytesPerToken = 97.5,
            FinishReason = FinishReason.Stop, Elapsed = TimeSpan.FromMilliseconds(12.5), Depth = DepthPolicy.Fixed(32),
        };
        var update = new ConversationUpdate(new GenerationUpdate("7", new GeneratedToken(55, 32, false, 0.125), summary), "S127.0.0.1:11111:1");
        var serializer = CreateSerializer();

        var copy = serializer.Deserialize<ConversationUpdate>(serializer.SerializeToArray(update))!;

        Assert.Equal(update.Silo, copy.Silo);
        Assert.Equal(update.Update.Token, copy.Update.Token);
        Assert.Equal(summary, copy.Update.Summary);
    }
}
