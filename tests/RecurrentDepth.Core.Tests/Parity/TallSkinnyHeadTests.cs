using RecurrentDepth.Caching;
using RecurrentDepth.Configuration;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Parity;

/// <summary>
/// A large vocabulary (65,536 × 64, the size from which the script runs a two-row head as <c>wte @ xᵀ</c>): a
/// fixed-depth decode, whose every token reads out its last state and its second-to-last one together, gives the
/// eager model's tokens, convergence values and logits.
/// </summary>
public sealed class TallSkinnyHeadTests(ITestOutputHelper output)
{
    [Fact]
    public void A_two_row_readout_over_a_large_vocabulary_gives_the_eager_logits()
    {
        var config = new RavenConfig
        {
            NEmbd = 64, NHeads = 4, NumKeyValueHeads = 4, NLayersInPrelude = 1, NLayersInRecurrentBlock = 2, NLayersInCoda = 1,
            IntermediateSize = 128, VocabSize = 65536, BlockSize = 64,
        }.Validate("code");
        using var model = new RavenModel(config, ScalarType.Float32, CPU);
        using (no_grad())
        using (var generator = new Generator(5, CPU))
        {
            foreach (var (name, p) in model.ParametersByKey())
            {
                if (!name.Contains("norm", StringComparison.Ordinal))
                {
                    p.copy_(randn(p.shape, generator: generator) * 0.05);
                }
            }
        }

        var options = new SequenceOptions
        {
            Prompt = [3, 60000, 17, 4242, 9], Depth = DepthPolicy.Fixed(3), MaxNewTokens = 4, RecordLogits = true, Seed = 2,
        };
        var scripted = Decode(model, options, script: true);
        var eager = Decode(model, options, script: false);

        Assert.Equal(eager.Tokens, scripted.Tokens);
        Assert.All(scripted.ExitValues, v => Assert.NotNull(v)); // every token measured its KL: two-row readouts ran
        for (int i = 0; i < eager.Logits.Count; i++)
        {
            double error = TensorAssert.MaxAbsError(eager.Logits[i], scripted.Logits[i], $"logits of token {i}");
            output.WriteLine($"token {i}: max abs logit difference {error:G3}, KL {scripted.ExitValues[i]:G3} / {eager.ExitValues[i]:G3}");
            Assert.True(error <= 1e-4, $"token {i}: scripted and eager logits differ by {error:G3}");
            Assert.Equal(eager.ExitValues[i]!.Value, scripted.ExitValues[i]!.Value, 1e-5);
        }
    }

    private static (int[] Tokens, double?[] ExitValues, List<Tensor> Logits) Decode(RavenModel model, SequenceOptions options, bool script)
    {
        model.UseTorchScript = script;
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(options);
        decoder.RunToCompletion();
        Assert.Null(sequence.Error);
        return (sequence.Generated.Select(g => g.TokenId).ToArray(), sequence.Generated.Select(g => g.ExitValue).ToArray(),
            sequence.StepLogits.Select(t => t.clone()).ToList());
    }
}
