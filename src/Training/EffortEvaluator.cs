using System.Globalization;
using System.Text;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Training;

/// <summary>Held-out results of one difficulty.</summary>
/// <param name="Difficulty">k.</param>
/// <param name="Count">Problems evaluated.</param>
/// <param name="AccuracyAtSteps">Accuracy (0..1) per fixed recurrence count.</param>
/// <param name="AdaptiveMeanSteps">Mean steps spent with the KL exit.</param>
/// <param name="AdaptiveAccuracy">Accuracy with the KL exit.</param>
/// <param name="AdaptiveCapHits">Problems that reached the cap without exiting.</param>
public sealed record DifficultyResult(int Difficulty, int Count, IReadOnlyDictionary<int, double> AccuracyAtSteps,
    double AdaptiveMeanSteps, double AdaptiveAccuracy, int AdaptiveCapHits);

/// <summary>An effort evaluation: per difficulty, accuracy against steps and the adaptive exit's cost.</summary>
/// <param name="Steps">The fixed recurrence counts evaluated.</param>
/// <param name="Threshold">KL exit threshold.</param>
/// <param name="Cap">Step cap of the adaptive exit.</param>
/// <param name="Results">One row per difficulty.</param>
public sealed record EffortReport(IReadOnlyList<int> Steps, double Threshold, int Cap, IReadOnlyList<DifficultyResult> Results)
{
    /// <summary>The table in Markdown (accuracy in percent).</summary>
    public string ToMarkdown()
    {
        var s = new StringBuilder();
        s.Append("| k | n |").AppendJoin("", Steps.Select(r => $" r={r} |")).AppendLine(" adaptive mean steps | adaptive acc | cap hits |");
        s.Append("|---|---|").AppendJoin("", Steps.Select(_ => "---|")).AppendLine("---|---|---|");
        foreach (var row in Results)
        {
            s.Append(CultureInfo.InvariantCulture, $"| {row.Difficulty} | {row.Count} |");
            foreach (var r in Steps)
            {
                s.Append(CultureInfo.InvariantCulture, $" {100 * row.AccuracyAtSteps[r]:F1} |");
            }

            s.AppendLine(CultureInfo.InvariantCulture, $" {row.AdaptiveMeanSteps:F2} | {100 * row.AdaptiveAccuracy:F1} | {row.AdaptiveCapHits} |");
        }

        return s.ToString();
    }

    /// <summary>The Markdown document written to <c>docs/effort.md</c>.</summary>
    public string ToDocument(string modelFolder) => string.Create(CultureInfo.InvariantCulture, $"""
        # Thinking effort on the micro model

        Model: `{modelFolder}`. Task: running arithmetic mod 10 over a chain of k operations `+c` / `*c`
        (c ∈ {"{3, 7, 9}"}), e.g. `3+7*9+3=`; trained on k = 1..6, k = 7 and 8 never seen in training. Held-out set:
        {ArithmeticTask.HeldOutPerDifficulty} problems per k, drawn with seed {ArithmeticTask.HeldOutSeed} (separate from
        training). Each prompt is rendered with huginn's chat template; a problem counts as solved when the greedy
        first generated token (argmax over the whole vocabulary at the prompt's last position) is the answer digit.
        Initial state: the reference's random like-init draw (fixed seed per k).

        Accuracy (%) at a fixed number of recurrence steps r, and with adaptive exit: stop after step i ≥ 2 when
        KL(p_(i−1) ‖ p_i) of the answer distributions is below {Threshold:G3}, at most {Cap} steps.

        {ToMarkdown()}
        ![accuracy vs recurrence steps](effort-curve.png)

        Reproduce: `dotnet run --project src/Training -c Release -- bench --model {modelFolder} --docs docs`

        {KeptSectionsMarker}
        """);

    /// <summary>Marks where the generated part of effort.md ends; what follows it in an existing file is kept when rewriting.</summary>
    public const string KeptSectionsMarker = "<!-- Generated above by `bench`; the sections below are hand-written and kept when it rewrites this file. -->";
}

/// <summary>
/// Measures accuracy against thinking effort on the fixed held-out set. For each difficulty one 32-step trajectory
/// per problem (one initial state) gives the fixed-step accuracies and the adaptive exit: the answer distribution is
/// read out after every step, as generation with an exit criterion would.
/// </summary>
public static class EffortEvaluator
{
    /// <summary>Fixed recurrence counts reported: 1, 2, 4, 8, 16, 32.</summary>
    public static IReadOnlyList<int> FixedSteps { get; } = [1, 2, 4, 8, 16, 32];

    /// <summary>
    /// Evaluates <paramref name="model"/> on the first <paramref name="count"/> held-out problems of each difficulty,
    /// prompts rendered and encoded by <paramref name="tokenizer"/> (the checkpoint's own).
    /// </summary>
    public static EffortReport Evaluate(RavenModel model, TaskTokenizer tokenizer, IReadOnlyList<int> difficulties, int count, IReadOnlyList<int> steps,
        double threshold = 5e-4, int cap = 32, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(difficulties);
        ArgumentNullException.ThrowIfNull(steps);
        var results = new List<DifficultyResult>();
        foreach (var k in difficulties)
        {
            var problems = ArithmeticTask.HeldOut(k, count);
            var correctAt = steps.ToDictionary(r => r, _ => 0);
            double adaptiveSteps = 0;
            int adaptiveCorrect = 0, capHits = 0;
            int maxSteps = Math.Max(cap, steps.Max());
            using var generator = new Generator((ulong)(seed * 1000 + k + 1), CPU);
            foreach (var chunk in problems.Chunk(250))
            {
                var trajectory = Trajectory(model, tokenizer, chunk, maxSteps, generator);
                for (int b = 0; b < chunk.Length; b++)
                {
                    int answer = tokenizer.DigitId(chunk[b].Answer);
                    foreach (var r in steps)
                    {
                        correctAt[r] += trajectory.Predictions[r - 1][b] == answer ? 1 : 0;
                    }

                    int exit = cap;
                    for (int i = 2; i <= cap; i++)
                    {
                        if (trajectory.KlToPrevious[i - 1][b] < threshold)
                        {
                            exit = i;
                            break;
                        }
                    }

                    capHits += exit == cap && !(trajectory.KlToPrevious[cap - 1][b] < threshold) ? 1 : 0;
                    adaptiveSteps += exit;
                    adaptiveCorrect += trajectory.Predictions[exit - 1][b] == answer ? 1 : 0;
                }
            }

            results.Add(new DifficultyResult(k, problems.Count, correctAt.ToDictionary(kv => kv.Key, kv => (double)kv.Value / problems.Count),
                adaptiveSteps / problems.Count, (double)adaptiveCorrect / problems.Count, capHits));
        }

        return new EffortReport(steps, threshold, cap, results);
    }

    /// <summary>Accuracy of greedy first tokens at a fixed step count (used by tests on small slices).</summary>
    public static double Accuracy(RavenModel model, TaskTokenizer tokenizer, IReadOnlyList<ArithmeticProblem> problems, int numSteps, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(problems);
        using var generator = new Generator(seed, CPU);
        var trajectory = Trajectory(model, tokenizer, problems, numSteps, generator);
        int correct = problems.Select((p, b) => trajectory.Predictions[numSteps - 1][b] == tokenizer.DigitId(p.Answer) ? 1 : 0).Sum();
        return (double)correct / problems.Count;
    }

    private sealed record TrajectoryResult(long[][] Predictions, double[][] KlToPrevious);

    // Problems of one difficulty share a length, so a chunk needs no padding; mixed lengths are right-padded and
    // each row is read at its own last prompt position.
    private static TrajectoryResult Trajectory(RavenModel model, TaskTokenizer tokenizer, IReadOnlyList<ArithmeticProblem> problems, int maxSteps, Generator generator)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var prompts = problems.Select(p => tokenizer.EncodePrompt(p).Ids).ToList();
        int length = prompts.Max(p => p.Count);
        var ids = new long[prompts.Count * length];
        Array.Fill(ids, tokenizer.PadId);
        for (int b = 0; b < prompts.Count; b++)
        {
            for (int i = 0; i < prompts[b].Count; i++)
            {
                ids[b * length + i] = prompts[b][i];
            }
        }

        var input = tensor(ids, [prompts.Count, length]);
        var rows = arange(prompts.Count, ScalarType.Int64);
        var last = tensor(prompts.Select(p => (long)p.Count - 1).ToArray());
        var context = model.CreateContext(arange(length, ScalarType.Int64));
        var embedded = model.RunPrelude(model.Embed(input), context);
        var state = model.SampleInitialState(embedded, 1.0, generator);
        var predictions = new long[maxSteps][];
        var kl = new double[maxSteps][];
        Tensor? previous = null;
        model.Recur(state, embedded, context, maxSteps, afterStep: (i, s) =>
        {
            using var step = NewDisposeScope();
            var logProbs = model.Readout(model.NormalizeLatent(s), context)[rows, last].log_softmax(-1);
            predictions[i] = logProbs.argmax(-1).data<long>().ToArray();
            // The KL exit's own formula; step 1 is measured against the uniform distribution but never exits here.
            kl[i] = ExitDivergence.Kl(previous, logProbs, model.Config.VocabSize).to(ScalarType.Float64).data<double>().ToArray();
            previous = logProbs.MoveToOuterDisposeScope();
        });

        return new TrajectoryResult(predictions, kl);
    }
}
