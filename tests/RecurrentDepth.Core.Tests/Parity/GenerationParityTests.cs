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
/// Token sequences and per-call step counts must match exactly; next-token logits at atol 1e-5 (the README's claim;
/// largest seen 1.6e-6); exit criterion
/// values at 1e-4 relative, with an absolute floor for values near zero: 1e-6, except entropy-diff, whose values
/// are differences of two float32 entropies near ln(vocab) ≈ 6.2 and so carry a few float32 ulps of 6.2 (≈ 5e-7
/// each) of rounding whatever the implementation; there the floor is 4e-6. Every exit decision must still match.
/// <para>
/// Step counts and token counts come from the golden file's <c>__metadata__</c> when it has them (see
/// <see cref="GoldenKeys"/>), else from the fixture README's values and the tensor shapes. Tensors a file does not
/// hold are not checked: a run without <c>step_logits</c> is still checked on its tokens and steps, one without an
/// s0 is replayed from the zero initial state. A folder with no generation run is skipped when it holds forward
/// tensors, and fails when it holds nothing any parity test knows.
/// </para>
/// </summary>
public sealed class GenerationParityTests(ITestOutputHelper output)
{
    public const double LogitAtol = 1e-5;
    public const double ExitRtol = 1e-4;
    public const double ExitAtolFloor = 1e-6;
    public const double EntropyDiffAtolFloor = 4e-6;

    // Recurrence depth of each stored family when the file's metadata does not say (the fixture README gives them).
    private const int DefaultGenSteps = 8;
    private const int DefaultGen16Steps = 16;
    private const int DefaultAdaptiveMaxSteps = 32;

    [SkippableTheory]
    [MemberData(nameof(FixtureCatalog.Folders), MemberType = typeof(FixtureCatalog))]
    public void Generation_matches_every_reference_run(string folder)
    {
        var (runs, failures) = CheckFolder(folder, output.WriteLine);
        if (runs == 0)
        {
            Assert.True(GoldenKeys.FolderHoldsAnythingKnown(folder), $"Fixture folder '{folder}' holds nothing the parity tests know (no fwd.* tensor, no gen.*, gen16.*, adaptive.* or cache.* run).");
            Skip.If(true, $"Fixture folder '{folder}' holds no generation runs (its forward tensors are checked by ForwardParityTests).");
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>Replays every generation run of every golden file of <paramref name="folder"/>.</summary>
    /// <returns>How many runs were replayed, and what differed (empty when all matched).</returns>
    internal static (int Runs, List<string> Failures) CheckFolder(string folder, Action<string> log)
    {
        var failures = new List<string>();
        int runs = 0;
        foreach (var (goldenPath, weights) in FixtureCatalog.GoldenSets(folder))
        {
            using var golden = SafetensorsFile.Open(goldenPath);
            var families = GoldenKeys.GenerationRuns(golden);
            if (families.Count == 0)
            {
                continue;
            }

            using var model = FixtureCatalog.LoadModel(folder, weights);
            foreach (var match in families)
            {
                runs++;
                var label = $"{Path.GetFileName(goldenPath)}:{match.Groups["family"].Value}";
                failures.AddRange(Replay(model, golden, match, log).Select(f => $"{label}: {f}"));
            }
        }

        return (runs, failures);
    }

    private static List<string> Replay(RavenModel model, SafetensorsFile golden, Match match, Action<string> log)
    {
        var family = match.Groups["family"].Value;
        if (!golden.Tensors.ContainsKey("input_ids"))
        {
            return ["the file has no input_ids, so the run's prompt is unknown"];
        }

        using var scope = NewDisposeScope();
        Tensor? Optional(string key) => golden.Tensors.ContainsKey(key) ? golden.Read(key) : null;
        var expectedSequences = golden.Read($"{family}.sequences");
        var ids = golden.Read("input_ids");
        int batch = (int)expectedSequences.shape[0];
        int promptLength = (int)ids.shape[1];
        int newTokens = GoldenKeys.Setting(golden, GoldenKeys.MaxNewTokens, (int)expectedSequences.shape[1] - promptLength);

        var depth = DepthPolicy.Fixed(GoldenKeys.Setting(golden, GoldenKeys.GenSteps, DefaultGenSteps));
        CacheStrategy cache = CacheStrategy.Full;
        Tensor? s0;
        Func<int, int>? schedule = null;
        Tensor? expectedSteps = null, expectedExitValues = null;
        bool continuous = false;
        if (family == "gen.minimal")
        {
            s0 = Optional("gen.minimal.s0");
        }
        else if (family == "gen.continuous")
        {
            s0 = Optional("gen.continuous.s0_prefill");
            continuous = true;
            depth = depth with { ContinuousCompute = true };
        }
        else if (match.Groups["g16"].Success)
        {
            s0 = Optional("gen16.s0");
            depth = DepthPolicy.Fixed(GoldenKeys.Setting(golden, GoldenKeys.Gen16Steps, DefaultGen16Steps));
            cache = CacheStrategy.Parse(match.Groups["g16"].Value);
        }
        else if (match.Groups["crit"].Success)
        {
            s0 = Optional("adaptive.s0");
            var criterion = ExitCriteria.Parse(match.Groups["crit"].Value);
            double? threshold = Optional($"{family}.threshold")?.to(ScalarType.Float64).item<double>();
            int cap = GoldenKeys.Setting(golden, GoldenKeys.AdaptiveMaxSteps, DefaultAdaptiveMaxSteps);
            depth = new DepthPolicy { MaxSteps = cap, Criterion = criterion, Threshold = threshold }.Validate();
            expectedSteps = Optional($"{family}.compute_steps");
            expectedExitValues = Optional($"{family}.exit_values");
        }
        else
        {
            s0 = Optional("cache.s0");
            var steps = Optional("cache.schedule")?.data<long>().ToArray();
            int maxSteps = Optional("cache.max_steps") is { } m ? (int)m.item<long>()
                : steps is { Length: > 0 } ? (int)steps.Max()
                : GoldenKeys.Setting(golden, GoldenKeys.AdaptiveMaxSteps, DefaultAdaptiveMaxSteps);
            if (steps is not null)
            {
                schedule = call => (int)steps[call];
            }

            depth = DepthPolicy.Fixed(maxSteps);
            cache = CacheStrategy.Parse(match.Groups["strategy"].Value);
            expectedSteps = Optional("cache.schedule");
        }

        if (s0 is null)
        {
            depth = depth with { InitScale = 0 }; // a file without s0 was produced from the zero initial state
        }

        using var decoder = new RecurrentDecoder(model);
        var sequences = new List<DecodeSequence>();
        for (int r = 0; r < batch; r++)
        {
            var rowS0 = s0?.narrow(0, r, 1);
            sequences.Add(decoder.Add(new SequenceOptions
            {
                Prompt = ids[r].data<long>().Select(t => (int)t).ToArray(),
                Depth = depth,
                Cache = cache,
                MaxNewTokens = newTokens,
                StepSchedule = schedule,
                RecordLogits = true,
                // Continuous runs store only the prompt's draw; later calls start from the previous latent.
                InitialStates = rowS0 is null ? null : (start, count) => continuous && start >= promptLength
                    ? throw new InvalidOperationException("continuous compute should not draw after the prompt")
                    : rowS0.narrow(1, start, count).clone(),
            }));
        }

        decoder.RunToCompletion();

        var failures = new List<string>();
        var expectedLogits = Optional($"{family}.step_logits");
        if (expectedLogits is not null && expectedLogits.shape[0] != newTokens)
        {
            failures.Add($"step_logits holds {expectedLogits.shape[0]} calls; the run generated {newTokens} tokens");
            expectedLogits = null;
        }

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

            for (int t = 0; expectedLogits is not null && t < newTokens; t++)
            {
                var reference = expectedLogits.dim() == 3 ? expectedLogits[t, r] : expectedLogits[t];
                worstLogit = Math.Max(worstLogit, TensorAssert.MaxAbsError(reference, sequence.StepLogits[t], $"step {t} logits"));
            }

            if (expectedSteps is not null)
            {
                var steps = sequence.Generated.Select(g => g.Steps).ToArray();
                var referenceSteps = (expectedSteps.dim() == 2 ? expectedSteps[r] : expectedSteps).data<long>().Select(s => (int)s).ToArray();
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
                    var row = expectedExitValues.dim() == 3 ? expectedExitValues[t, r] : expectedExitValues[t];
                    var reference = row.data<float>().ToArray().TakeWhile(v => !float.IsNaN(v)).ToArray();
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

        log($"{family}: {depth.MaxSteps} steps, {newTokens} tokens, " +
            (expectedLogits is null ? "no step_logits stored" : $"max abs logit error {worstLogit:G3}") +
            (expectedExitValues is null ? "" : $", worst relative exit-value error {worstExit:G3}"));
        if (worstLogit > LogitAtol)
        {
            failures.Add($"max abs logit error {worstLogit:G3} exceeds {LogitAtol}");
        }

        return failures;
    }
}
