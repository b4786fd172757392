using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;

namespace RecurrentDepth.Tests.Engine;

/// <summary>Engine-level behaviour of the batched step: host reads, non-finite rows, constraints, exit values.</summary>
public sealed class EngineBatchingTests
{
    private static EngineOptions Options() => new() { ModelPath = FixtureCatalog.Tiny, Device = TestDevice.Name, DType = "float32", MaxBatch = 8 };

    private static GenerationRequest Request(int seed, int steps) => new()
    {
        PromptTokens = [1, 5 + seed, 9, 13],
        Depth = DepthPolicy.Fixed(steps),
        MaxNewTokens = 6,
        IgnoreEndOfTurn = true,
        Seed = seed,
    };

    private static async Task<List<GenerationUpdate>> Collect(IInferenceEngine engine, GenerationRequest request)
    {
        var updates = new List<GenerationUpdate>();
        await foreach (var update in engine.GenerateAsync(request))
        {
            updates.Add(update);
        }

        return updates;
    }

    [Fact]
    public async Task A_constraint_without_a_registered_factory_is_rejected_at_submission()
    {
        using var engine = InferenceEngine.Load(Options());
        engine.ConstraintFactory = null; // the engine registers the default factory; an app may remove it
        var constrained = Request(1, 2) with { Constraint = new OutputConstraint { Kind = OutputConstraintKind.Json } };
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => Collect(engine, constrained));
        Assert.Contains("Constrained decoding", error.Message, StringComparison.Ordinal);
        Assert.Equal(6, (await Collect(engine, Request(2, 2))).Count(u => u.Token is not null));
    }

    [Fact]
    public async Task Non_finite_logits_fail_one_request_and_the_others_finish_as_alone()
    {
        using var engine = InferenceEngine.Load(Options());
        var requests = Enumerable.Range(0, 4).Select(i => Request(i, 3 + i)).ToList();
        var alone = new List<int[]>();
        foreach (var r in requests)
        {
            alone.Add([.. (await Collect(engine, r)).Where(u => u.Token is not null).Select(u => u.Token!.TokenId)]);
        }

        engine.LogitsInjection = (rows, logits) =>
        {
            for (int i = 0; i < rows.Count; i++)
            {
                if (rows[i].Tokens[1] == 5 + 2 && rows[i].Generated.Count == 1)
                {
                    logits[i, 0] = TorchSharp.torch.tensor(float.PositiveInfinity);
                }
            }
        };
        var runs = requests.Select(r => Collect(engine, r)).ToList();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => runs[2]);
        Assert.Contains("non-finite logits at token 1", error.Message, StringComparison.Ordinal);
        foreach (int i in new[] { 0, 1, 3 })
        {
            var updates = await runs[i];
            Assert.Equal(alone[i], updates.Where(u => u.Token is not null).Select(u => u.Token!.TokenId).ToArray());
            var summary = updates[^1].Summary!;
            Assert.NotNull(summary.MaxExitValue);
            Assert.Equal(updates.Count(u => u.Token?.ExitValue > DepthScheduler.FixedDepthKlThreshold), summary.UnconvergedTokens);
        }

        Assert.True(engine.HostReads <= engine.DecodeSteps, $"{engine.HostReads} host reads in {engine.DecodeSteps} steps");
    }
}
