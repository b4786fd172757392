using RecurrentDepth.Caching;
using RecurrentDepth.Configuration;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Parity;

/// <summary>
/// Large weights (from 2^21 elements the script runs two rows as <c>w @ xᵀ</c>): a fixed-depth decode, whose every
/// token reads out its last state and its second-to-last one together, gives the eager model's tokens, convergence
/// values and logits. Width 64 with a 65,536 × 64 head and a 32,768 × 64 <c>mlp.fc</c>; width 1024, whose
/// 3,072 × 1,024 <c>Wqkv</c> takes the tall-skinny form with its bias.
/// </summary>
public sealed class TallSkinnyLinearTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(64, 4, 16384, 65536)]
    [InlineData(1024, 16, 256, 512)]
    public void A_two_row_readout_over_large_weights_gives_the_eager_logits(int width, int heads, int intermediate, int vocab)
    {
        var config = new RavenConfig
        {
            NEmbd = width, NHeads = heads, NumKeyValueHeads = heads, NLayersInPrelude = 1, NLayersInRecurrentBlock = 2, NLayersInCoda = 1,
            IntermediateSize = intermediate, VocabSize = vocab, BlockSize = 64,
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
            Prompt = [3, vocab - 1, 17, 42, 9], Depth = DepthPolicy.Fixed(3), MaxNewTokens = 4, RecordLogits = true, Seed = 2,
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
