using System.Text.RegularExpressions;
using RecurrentDepth.Checkpoints;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Parity;

/// <summary>
/// Compares every <c>fwd.*</c> tensor of every golden file in each fixture folder with this implementation, in fp32,
/// feeding the reference's stored s0. Tolerance: atol 1e-5, the README's claim (largest error seen on this machine:
/// 8.3e-6, a 32-step latent state of the perturbed set; the fixture README measured the reference's own
/// float32-vs-float64 spread at ≤ 1.6e-6). Step counts come from the keys (<c>fwd.nN.*</c>); only the tensors a file
/// holds are checked. A folder without forward tensors is skipped when it holds generation runs, and fails when it
/// holds nothing any parity test knows.
/// </summary>
public sealed partial class ForwardParityTests(ITestOutputHelper output)
{
    public const double Atol = 1e-5;

    [GeneratedRegex(@"^fwd\.(?:(?<zero>zero_s0)\.)?n(?<n>\d+)\.(?<what>logits|latent_states|final_state_raw|state_trajectory)$")]
    private static partial Regex PassKey();

    [SkippableTheory]
    [MemberData(nameof(FixtureCatalog.Folders), MemberType = typeof(FixtureCatalog))]
    public void Forward_pass_matches_every_reference_tensor(string folder) => CheckAndReport(folder, scriptedCore: true);

    /// <summary>The same with the eager core step (bf16/fp16 models run it; fp32 ones run the TorchScript form).</summary>
    [SkippableTheory]
    [MemberData(nameof(FixtureCatalog.Folders), MemberType = typeof(FixtureCatalog))]
    public void Forward_pass_with_the_eager_core_step_matches_every_reference_tensor(string folder) => CheckAndReport(folder, scriptedCore: false);

    private void CheckAndReport(string folder, bool scriptedCore)
    {
        var results = CheckFolder(folder, scriptedCore);
        if (results.Count == 0)
        {
            Assert.True(GoldenKeys.FolderHoldsAnythingKnown(folder), $"Fixture folder '{folder}' holds nothing the parity tests know (no fwd.* tensor, no gen.*, gen16.*, adaptive.* or cache.* run).");
            Skip.If(true, $"Fixture folder '{folder}' holds no fwd.* tensors (its generation runs are checked by GenerationParityTests).");
        }

        foreach (var (name, error) in results)
        {
            output.WriteLine($"{name}: max abs error {error:G3}");
        }

        var failures = results.Where(r => !(r.Error <= Atol)).Select(r => $"{r.Name} (max abs error {r.Error:G3})").ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {results.Count} tensors exceed atol {Atol}: {string.Join("; ", failures)}");
    }

    /// <summary>Compares every forward tensor of every golden file of <paramref name="folder"/>; empty when it holds none.</summary>
    internal static List<(string Name, double Error)> CheckFolder(string folder, bool scriptedCore = true)
    {
        var results = new List<(string Name, double Error)>();
        foreach (var (goldenPath, weights) in FixtureCatalog.GoldenSets(folder))
        {
            using var golden = SafetensorsFile.Open(goldenPath);
            var keys = golden.Tensors.Keys.Where(GoldenKeys.IsForward).ToList();
            if (keys.Count == 0)
            {
                continue;
            }

            using var model = FixtureCatalog.LoadModel(folder, weights);
            model.UseTorchScript = scriptedCore;
            var label = Path.GetFileName(goldenPath);
            foreach (var (name, error) in CompareForward(model, golden, keys))
            {
                results.Add(($"{label}:{name}", error));
            }
        }

        return results;
    }

    [Fact]
    public void A_corrupted_weight_is_caught_by_the_parity_comparison()
    {
        var (goldenPath, weights) = FixtureCatalog.GoldenSets(FixtureCatalog.Tiny).First(g => Path.GetFileName(g.Golden) == "golden.safetensors");
        using var golden = SafetensorsFile.Open(goldenPath);
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny, weights);
        using (no_grad())
        {
            // Bytes read one element off, the damage a wrong data offset in a shard would do.
            var weight = model.ParametersByKey()["transformer.core_block.1.mlp.fc.weight"];
            weight.copy_(weight.flatten().roll(1).view(weight.shape));
        }

        var keys = golden.Tensors.Keys.Where(k => k.StartsWith("fwd.n4.", StringComparison.Ordinal)).ToList();
        var results = CompareForward(model, golden, keys);
        var logits = results.Single(r => r.Name == "fwd.n4.logits");
        Assert.True(logits.Error > Atol, $"A perturbed core weight should move the logits past atol {Atol}; max abs error was {logits.Error:G3}.");
    }

    /// <summary>Runs the passes the keys call for and returns the max abs error per key.</summary>
    internal static List<(string Name, double Error)> CompareForward(RavenModel model, SafetensorsFile golden, IReadOnlyList<string> keys)
    {
        var results = new List<(string, double)>();
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        Assert.True(golden.Tensors.ContainsKey("input_ids"), $"{Path.GetFileName(golden.Path)} holds fwd.* tensors but no input_ids.");
        var ids = golden.Read("input_ids").to(model.Device);
        var s0 = golden.Tensors.ContainsKey("fwd.s0") ? golden.Read("fwd.s0").to(model.Device) : null;
        var passes = new Dictionary<(bool Zero, int N), RavenOutput>();
        RavenOutput Pass(bool zero, int n) =>
            passes.TryGetValue((zero, n), out var o) ? o
            : passes[(zero, n)] = zero ? model.Forward(ids, n, initScale: 0)
            : model.Forward(ids, n, initialState: s0 ?? throw new Xunit.Sdk.XunitException($"{Path.GetFileName(golden.Path)} holds fwd.nN tensors of the stored s0 but no fwd.s0."), recordTrajectory: true);

        foreach (var key in keys)
        {
            var expected = golden.Read(key);
            Tensor actual;
            if (key == "fwd.s0")
            {
                continue; // an input, fed to every pass
            }
            else if (key == "fwd.embeds_scaled")
            {
                actual = model.Embed(ids);
            }
            else if (key == "fwd.prelude_out")
            {
                actual = Pass(zero: true, 1).EmbeddedInput; // the prelude's output does not depend on the initial state
            }
            else if (PassKey().Match(key) is { Success: true } m)
            {
                var output = Pass(m.Groups["zero"].Success, int.Parse(m.Groups["n"].Value));
                actual = m.Groups["what"].Value switch
                {
                    "logits" => output.Logits,
                    "latent_states" => output.LatentStates,
                    "final_state_raw" => output.FinalState,
                    _ => stack(output.Trajectory!, 0),
                };
            }
            else
            {
                throw new Xunit.Sdk.XunitException($"Golden tensor '{key}' is not one this test knows how to check.");
            }

            results.Add((key, TensorAssert.MaxAbsError(expected, actual, key)));
        }

        foreach (var o in passes.Values)
        {
            o.Dispose();
        }

        return results;
    }
}
