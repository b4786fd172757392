using System.Text.RegularExpressions;
using RecurrentDepth.Caching;
using RecurrentDepth.Checkpoints;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Parity;

/// <summary>
/// Replays every generation run stored in the fixture folders (<c>gen.*</c>, <c>gen16.*</c>, <c>adaptive.*</c>,
/// <c>cache.*</c>) through <see cref="RecurrentDecoder"/>, feeding the reference's per-position initial states.
/// Token sequences and per-call step counts must match exactly; next-token logits at atol 1e-4; exit criterion
/// values at 1e-4 relative, with an absolute floor for values near zero: 1e-6, except entropy-diff, whose values
/// are differences of two float32 entropies near ln(vocab) ≈ 6.2 and so carry a few float32 ulps of 6.2 (≈ 5e-7
/// each) of rounding whatever the implementation; there the floor is 4e-6. Every exit decision must still match.
/// </summary>
public sealed partial class GenerationParityTests(ITestOutputHelper output)
{
    public const double LogitAtol = 1e-4;
    public const double ExitRtol = 1e-4;
    public const double ExitAtolFloor = 1e-6;
    public const double EntropyDiffAtolFloor = 4e-6;

    // Recurrence depth of each stored family (the fixture README gives them; the files store only the outputs).
    private const int MinimalSteps = 8;
    private const int Gen16Steps = 16;
    private const int AdaptiveMaxSteps = 32;

    [GeneratedRegex(@"^(?<family>gen\.minimal|gen\.continuous|gen16\.(?<g16>[^.]+)|adaptive\.(?<crit>[^.]+)|cache\.(?<strategy>[^.]+))\.sequences$")]
    private static partial Regex RunKey();

    [Theory]
    [MemberData(nameof(FixtureCatalog.Folders), MemberType = typeof(FixtureCatalog))]
    public void Generation_matches_every_reference_run(string folder)
    {
        var failures = new List<string>();
        int runs = 0;
        foreach (var (goldenPath, weights) in FixtureCatalog.GoldenSets(folder))
        {
            using var golden = SafetensorsFile.Open(goldenPath);
            var families = golden.Tensors.Keys.Select(k => RunKey().Match(k)).Where(m => m.Success).ToList();
            if (families.Count == 0)
            {
                continue;
            }

            using var model = FixtureCatalog.LoadModel(folder, weights);
            foreach (var match in families)
            {
                runs++;
                var label = $"{Path.GetFileName(goldenPath)}:{match.Groups["family"].Value}";
                failures.AddRange(Replay(model, golden, match).Select(f => $"{label}: {f}"));
            }
        }

        Assert.True(runs > 0, $"Fixture folder '{folder}' holds no generation runs (gen.*, gen16.*, adaptive.*, cache.*) this test knows.");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private List<string> Replay(RavenModel model, SafetensorsFile golden, Match match)
    {
        var family = match.Groups["family"].Value;
        using var scope = NewDisposeScope();
        var expectedSequences = golden.Read($"{family}.sequences");
        var ids = golden.Read("input_ids");
        int batch = (int)expectedSequences.shape[0];
        int promptLength = (int)ids.shape[1];
        int newTokens = (int)expectedSequences.shape[1] - promptLength;

        DepthPolicy depth = DepthPolicy.Fixed(MinimalSteps);
        CacheStrategy cache = CacheStrategy.Full;
        Tensor s0;
        Func<int, int>? schedule = null;
        Tensor? expectedSteps = null, expectedExitValues = null;
        bool continuous = false;
        if (family == "gen.minimal")
        {
            s0 = golden.Read("gen.minimal.s0");
        }
        else if (family == "gen.continuous")
        {
            s0 = golden.Read("gen.continuous.s0_prefill");
            continuous = true;
            depth = depth with { ContinuousCompute = true };
        }
        else if (match.Groups["g16"].Success)
        {
            s0 = golden.Read("gen16.s0");
            depth = DepthPolicy.Fixed(Gen16Steps);
            cache = CacheStrategy.Parse(match.Groups["g16"].Value);
        }
        else if (match.Groups["crit"].Success)
        {
            s0 = golden.Read("adaptive.s0");
            var criterion = ExitCriteria.Parse(match.Groups["crit"].Value);
            double threshold = golden.Read($"{family}.threshold").to(ScalarType.Float64).item<double>();
            depth = new DepthPolicy { MaxSteps = AdaptiveMaxSteps, Criterion = criterion, Threshold = threshold }.Validate();
            expectedSteps = golden.Read($"{family}.compute_steps");
            expectedExitValues = golden.Read($"{family}.exit_values");
        }
        else
        {
            s0 = golden.Read("cache.s0");
            int maxSteps = (int)golden.Read("cache.max_steps").item<long>();
            var steps = golden.Read("cache.schedule").data<long>().ToArray();
            schedule = call => (int)steps[call];
            depth = DepthPolicy.Fixed(maxSteps);
            cache = CacheStrategy.Parse(match.Groups["strategy"].Value);
            expectedSteps = golden.Read("cache.schedule");
        }

        using var decoder = new RecurrentDecoder(model);
        var sequences = new List<DecodeSequence>();
        for (int r = 0; r < batch; r++)
        {
            int row = r;
            var rowS0 = s0.narrow(0, row, 1);
            sequences.Add(decoder.Add(new SequenceOptions
            {
                Prompt = ids[row].data<long>().Select(t => (int)t).ToArray(),
                Depth = depth,
                Cache = cache,
                MaxNewTokens = newTokens,
                StepSchedule = schedule,
                RecordLogits = true,
                // Continuous runs store only the prompt's draw; later calls start from the previous latent.
                InitialStates = (start, count) => continuous && start >= promptLength
                    ? throw new InvalidOperationException("continuous compute should not draw after the prompt")
                    : rowS0.narrow(1, start, count).clone(),
            }));
        }

        decoder.RunToCompletion();

        var failures = new List<string>();
        var expectedLogits = golden.Read($"{family}.step_logits");
        double worstLogit = 0, worstExit = 0;
        for (int r = 0; r < batch; r++)
        {
            var sequence = sequences[r];
            var expected = expectedSequences[r].data<long>().Select(t => (int)t).ToArray();
            if (!sequence.Tokens.SequenceEqual(expected))
            {
                failures.Add($"row {r} tokens [{string.Join(" ", sequence.Tokens.Skip(promptLength))}] differ from the reference's [{string.Join(" ", expected.Skip(promptLength))}]");
                continue;
            }

            for (int t = 0; t < newTokens; t++)
            {
                var reference = expectedLogits.dim() == 3 ? expectedLogits[t, r] : expectedLogits[t];
                worstLogit = Math.Max(worstLogit, TensorAssert.MaxAbsError(reference, sequence.StepLogits[t], $"step {t} logits"));
            }

            if (expectedSteps is not null)
            {
                var steps = sequence.Generated.Select(g => g.Steps).ToArray();
                var referenceSteps = expectedSteps.data<long>().Select(s => (int)s).ToArray();
                if (!steps.SequenceEqual(referenceSteps))
                {
                    failures.Add($"row {r} steps per call [{string.Join(" ", steps)}] differ from the reference's [{string.Join(" ", referenceSteps)}]");
                }
            }

            if (expectedExitValues is not null)
            {
                double floor = depth.Criterion == ExitCriterion.EntropyDiff ? EntropyDiffAtolFloor : ExitAtolFloor;
                for (int t = 0; t < newTokens; t++)
                {
                    var reference = expectedExitValues[t].data<float>().ToArray().TakeWhile(v => !float.IsNaN(v)).ToArray();
                    var actual = sequence.ExitValues[t];
                    if (actual.Count != reference.Length)
                    {
                        failures.Add($"call {t}: {actual.Count} exit checks, the reference made {reference.Length}");
                        continue;
                    }

                    for (int k = 0; k < reference.Length; k++)
                    {
                        double err = Math.Abs(actual[k] - reference[k]);
                        worstExit = Math.Max(worstExit, err / Math.Max(Math.Abs(reference[k]), floor / ExitRtol));
                        if (err > ExitRtol * Math.Abs(reference[k]) + floor)
                        {
                            failures.Add($"call {t} check {k + 1}: exit value {actual[k]:G6}, reference {reference[k]:G6}");
                        }
                    }
                }
            }
        }

        output.WriteLine($"{family}: max abs logit error {worstLogit:G3}{(expectedExitValues is null ? "" : $", worst relative exit-value error {worstExit:G3}")}");
        if (worstLogit > LogitAtol)
        {
            failures.Add($"max abs logit error {worstLogit:G3} exceeds {LogitAtol}");
        }

        return failures;
    }
}
