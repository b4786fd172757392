using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Modeling;

/// <summary>s0 follows the reference distribution: N(0, σ²) truncated at ±3σ, σ = √(2/(5·n_embd))·scale, times √n_embd.</summary>
public sealed class InitialStateTests(ITestOutputHelper output)
{
    private static readonly RavenConfig Config = new()
    {
        NEmbd = 64, NHeads = 4, NumKeyValueHeads = 4, NLayersInPrelude = 2, NLayersInRecurrentBlock = 4, NLayersInCoda = 2,
        IntermediateSize = 160, VocabSize = 512,
    };

    private static Tensor Draw(long[] shape, double scale, ulong seed)
    {
        using var generator = new Generator(seed, CPU);
        return InitialState.Sample(Config, shape, scale, generator, ScalarType.Float32, CPU);
    }

    [Fact]
    public void Init_scale_zero_gives_exactly_zero()
    {
        using var s0 = Draw([2, 12, 64], 0, 7);
        Assert.Equal(new long[] { 2, 12, 64 }, s0.shape);
        Assert.Equal(0, s0.count_nonzero().item<long>());
    }

    [Fact]
    public void The_same_seed_gives_the_same_state_and_another_seed_a_different_one()
    {
        using var a = Draw([2, 12, 64], 1, 100);
        using var b = Draw([2, 12, 64], 1, 100);
        using var c = Draw([2, 12, 64], 1, 101);
        Assert.True(TensorAssert.Identical(a, b), "Two draws with seed 100 differ.");
        Assert.False(TensorAssert.Identical(a, c), "Seeds 100 and 101 gave the same state.");
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public void A_large_sample_has_the_reference_std_and_stays_within_three_sigma(double scale)
    {
        using var s0 = Draw([1_000_000], scale, 12345);
        double std = s0.to(ScalarType.Float64).std().item<double>();
        double mean = s0.to(ScalarType.Float64).mean().item<double>();
        double maxAbs = s0.abs().max().item<float>();

        // A normal truncated at ±3σ keeps sqrt(1 − 6φ(3)/(2Φ(3) − 1)) ≈ 0.98658 of its std.
        double truncation = Math.Sqrt(1 - 6 * Math.Exp(-4.5) / Math.Sqrt(2 * Math.PI) / (1 - 2 * 0.0013498980316300946));
        double expected = Math.Sqrt(2.0 / 5.0) * scale * truncation;
        double bound = 3 * Config.InitStd * scale * Config.EmbedScale;
        output.WriteLine($"scale {scale}: std {std:G6} (expected {expected:G6}), mean {mean:G3}, max |s0| {maxAbs:G6} (bound {bound:G6})");

        // With 1e6 samples the std estimate's relative standard error is ~0.07%; 1% is > 10 of them.
        Assert.InRange(std, expected * 0.99, expected * 1.01);
        Assert.InRange(mean, -0.01 * scale, 0.01 * scale);
        Assert.True(maxAbs <= bound * (1 + 1e-6), $"max |s0| {maxAbs} exceeds 3σ·embed_scale = {bound}.");
        Assert.True(maxAbs > bound * 0.99, $"max |s0| {maxAbs} never approaches the ±3σ bound {bound}; is the draw truncated too early?");
    }
}
