using RecurrentDepth.Checkpoints;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Modeling;

/// <summary>How the loader treats the two tensors that are not parameters: the tied lm_head and the RoPE buffer.</summary>
public sealed class ModelLoaderTests(ITestOutputHelper output) : IDisposable
{
    private static readonly ModelLoadOptions Cpu = new() { Device = "cpu", DType = "float32" };
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_checkpoint_without_lm_head_loads_and_gives_the_same_logits()
    {
        TestCheckpoints.WriteFixtureCopy(_temp.Path, ts => ts.Where(t => t.Key != ModelLoader.LmHeadKey).ToList());
        using (var checkpoint = SafetensorsCheckpoint.Open(_temp.Path))
        {
            Assert.False(checkpoint.TryGetInfo(ModelLoader.LmHeadKey, out _, out _));
        }

        using var reference = RavenModel.Load(FixtureCatalog.Tiny, Cpu);
        using var headless = RavenModel.Load(_temp.Path, Cpu with { VerifyTiedHead = true });
        using var expected = GoldenInputs.Logits(reference, 4);
        using var actual = GoldenInputs.Logits(headless, 4);
        Assert.True(TensorAssert.Identical(expected, actual), $"max abs difference {TensorAssert.MaxAbsError(expected, actual, "logits"):G3}");
    }

    [Fact]
    public void An_lm_head_that_differs_from_wte_fails_only_when_verification_is_asked_for()
    {
        TestCheckpoints.WriteFixtureCopy(_temp.Path, ts => ts
            .Select(t => t.Key == ModelLoader.LmHeadKey ? new KeyValuePair<string, Tensor>(t.Key, t.Value + 0.01f) : t)
            .ToList());

        // Default: only the shape is checked, and the head reads wte, so the differing copy is simply unused.
        using (var lenient = RavenModel.Load(_temp.Path, Cpu))
        using (var reference = RavenModel.Load(FixtureCatalog.Tiny, Cpu))
        using (var expected = GoldenInputs.Logits(reference, 1))
        using (var actual = GoldenInputs.Logits(lenient, 1))
        {
            Assert.True(TensorAssert.Identical(expected, actual), "The stored lm_head copy leaked into the logits.");
        }

        var ex = Assert.Throws<InvalidDataException>(() => RavenModel.Load(_temp.Path, Cpu with { VerifyTiedHead = true }).Dispose());
        Assert.Contains($"'{ModelLoader.LmHeadKey}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("transformer.wte.weight", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_identical_lm_head_passes_verification()
    {
        using var model = RavenModel.Load(FixtureCatalog.Tiny, Cpu with { VerifyTiedHead = true });
        Assert.Equal(ScalarType.Float32, model.DType);
    }

    [Fact]
    public void A_freqs_cis_buffer_that_disagrees_with_the_config_fails_naming_freqs_cis()
    {
        TestCheckpoints.WriteFixtureCopy(_temp.Path, editConfig: c => c["rope_base"] = 10000);
        var ex = Assert.Throws<InvalidDataException>(() => RavenModel.Load(_temp.Path, Cpu).Dispose());
        Assert.Contains($"'{ModelLoader.FreqsCisKey}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rope_base 10000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_freqs_cis_buffer_with_the_wrong_shape_fails_naming_freqs_cis()
    {
        TestCheckpoints.WriteFixtureCopy(_temp.Path, ts => ts
            .Select(t => t.Key == ModelLoader.FreqsCisKey ? new KeyValuePair<string, Tensor>(t.Key, t.Value.narrow(1, 0, 2048).contiguous()) : t)
            .ToList());
        var ex = Assert.Throws<InvalidDataException>(() => RavenModel.Load(_temp.Path, Cpu).Dispose());
        Assert.Contains($"'{ModelLoader.FreqsCisKey}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[1, 2048, 1, 8, 2]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RotaryEmbedding_tables_equal_the_fixture_freqs_cis_buffer()
    {
        using var file = SafetensorsFile.Open(Path.Combine(FixtureCatalog.Tiny, "model.safetensors"));
        using var freqs = file.Read(ModelLoader.FreqsCisKey);
        using var rotary = new RotaryEmbedding(headDim: 16, maxPositions: 4096, ropeBase: 50_000, CPU);
        using var table = freqs.view(4096, 8, 2);
        using var cos = table.select(-1, 0);
        using var sin = table.select(-1, 1);
        double cosErr = TensorAssert.MaxAbsError(cos, rotary.Cos, "cos");
        double sinErr = TensorAssert.MaxAbsError(sin, rotary.Sin, "sin");
        output.WriteLine($"RoPE vs fixture freqs_cis over 4096 positions: cos max abs error {cosErr:G3}, sin {sinErr:G3}");
        // Same fp32 recipe as the reference; only libm's cos/sin of angles up to 4095 rad may differ in the last ulp.
        Assert.True(cosErr <= 1e-6 && sinErr <= 1e-6, $"RoPE tables differ from freqs_cis: cos {cosErr:G3}, sin {sinErr:G3}.");
    }
}
