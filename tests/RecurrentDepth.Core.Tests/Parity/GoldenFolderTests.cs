using RecurrentDepth.Checkpoints;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Parity;

/// <summary>
/// The parity checks on golden folders other than the tiny fixture's: synthetic folders written here from subsets of
/// the reference's own tensors (nothing expected is computed by the code under test), with and without
/// <c>__metadata__</c> settings, missing tensors, or nothing the checks know.
/// </summary>
public sealed class GoldenFolderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public GoldenFolderTests()
    {
        foreach (var file in new[] { "config.json", "model.safetensors" })
        {
            File.Copy(Path.Combine(FixtureCatalog.Tiny, file), _folder.File(file));
        }
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_run_without_step_logits_is_still_checked_on_its_tokens_and_steps()
    {
        using var scope = NewDisposeScope();
        var source = Reference("golden_adaptive.safetensors", "input_ids", "adaptive.s0", "adaptive.kl.sequences", "adaptive.kl.compute_steps", "adaptive.kl.threshold");
        Write(source, new() { [GoldenKeys.AdaptiveMaxSteps] = "32" });
        var (runs, failures) = GenerationParityTests.CheckFolder(_folder.Path, _ => { });
        Assert.Equal(1, runs);
        Assert.Empty(failures);

        // One step count off by one: the check must see it although no logits are stored.
        var steps = source["adaptive.kl.compute_steps"].clone();
        steps[3] = steps[3] + 1;
        source["adaptive.kl.compute_steps"] = steps;
        Write(source, new() { [GoldenKeys.AdaptiveMaxSteps] = "32" });
        (runs, failures) = GenerationParityTests.CheckFolder(_folder.Path, _ => { });
        Assert.Equal(1, runs);
        Assert.Contains(failures, f => f.Contains("steps per call", StringComparison.Ordinal));
    }

    [Fact]
    public void Step_and_token_counts_come_from_the_metadata()
    {
        using var scope = NewDisposeScope();
        var source = Reference("golden_generate.safetensors", "input_ids", "gen.minimal.s0", "gen.minimal.sequences");
        const int prompt = 12, kept = 6;
        source["gen.minimal.sequences"] = source["gen.minimal.sequences"].narrow(1, 0, prompt + kept).contiguous();

        // The reference's 8 steps, token count from the shape (the metadata omits it): matches.
        Write(source, new() { [GoldenKeys.GenSteps] = "8" });
        Assert.Empty(GenerationParityTests.CheckFolder(_folder.Path, _ => { }).Failures);

        // Token count from the metadata.
        Write(source, new() { [GoldenKeys.GenSteps] = "8", [GoldenKeys.MaxNewTokens] = kept.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.Empty(GenerationParityTests.CheckFolder(_folder.Path, _ => { }).Failures);

        // A metadata step count other than the one the tokens were made with is applied, and they no longer match.
        Write(source, new() { [GoldenKeys.GenSteps] = "2" });
        Assert.Contains(GenerationParityTests.CheckFolder(_folder.Path, _ => { }).Failures, f => f.Contains("differ from the reference", StringComparison.Ordinal));

        // So is a metadata token count that the stored sequences do not have.
        Write(source, new() { [GoldenKeys.MaxNewTokens] = "7" });
        Assert.Contains(GenerationParityTests.CheckFolder(_folder.Path, _ => { }).Failures, f => f.Contains("differ from the reference", StringComparison.Ordinal));
    }

    [Fact]
    public void A_folder_of_forward_tensors_only_is_checked_on_them_and_has_no_generation_runs()
    {
        using var scope = NewDisposeScope();
        Write(Reference("golden.safetensors", "input_ids", "fwd.s0", "fwd.n4.logits", "fwd.zero_s0.n1.logits"), []);
        var results = ForwardParityTests.CheckFolder(_folder.Path);
        Assert.Equal(["golden_synthetic.safetensors:fwd.n4.logits", "golden_synthetic.safetensors:fwd.zero_s0.n1.logits"], results.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.All(results, r => Assert.True(r.Error <= ForwardParityTests.Atol, $"{r.Name}: {r.Error:G3}"));
        Assert.Equal(0, GenerationParityTests.CheckFolder(_folder.Path, _ => { }).Runs);
        Assert.True(GoldenKeys.FolderHoldsAnythingKnown(_folder.Path));
    }

    [Fact]
    public void A_folder_holding_nothing_the_checks_know_is_reported_as_such()
    {
        using var scope = NewDisposeScope();
        var source = Reference("golden.safetensors", "input_ids");
        source["something.else"] = source["input_ids"].clone();
        Write(source, []);
        Assert.Empty(ForwardParityTests.CheckFolder(_folder.Path));
        Assert.Equal(0, GenerationParityTests.CheckFolder(_folder.Path, _ => { }).Runs);
        Assert.False(GoldenKeys.FolderHoldsAnythingKnown(_folder.Path));
    }

    [Fact]
    public void A_metadata_setting_that_is_not_a_positive_integer_fails_with_its_name()
    {
        using var scope = NewDisposeScope();
        Write(Reference("golden_generate.safetensors", "input_ids", "gen.minimal.s0", "gen.minimal.sequences"), new() { [GoldenKeys.GenSteps] = "eight" });
        var ex = Assert.ThrowsAny<Exception>(() => GenerationParityTests.CheckFolder(_folder.Path, _ => { }));
        Assert.Contains(GoldenKeys.GenSteps, ex.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, Tensor> Reference(string file, params string[] keys)
    {
        using var golden = SafetensorsFile.Open(Path.Combine(FixtureCatalog.Tiny, file));
        return keys.ToDictionary(k => k, golden.Read);
    }

    private void Write(Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata) =>
        SafetensorsWriter.Write(_folder.File("golden_synthetic.safetensors"), tensors, metadata);
}
