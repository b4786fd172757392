using System.Globalization;
using System.Text;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Training;

/// <summary>One way of answering: a model folder, its answer format and the depth policy it runs at.</summary>
/// <param name="Label">Column label, e.g. "latent r=32".</param>
/// <param name="ModelFolder">Checkpoint folder.</param>
/// <param name="Format">How the model answers (and so how the answer is read).</param>
/// <param name="Depth">Recurrence per generated token.</param>
public sealed record AnsweringMode(string Label, string ModelFolder, AnswerFormat Format, DepthPolicy Depth);

/// <summary>What one mode achieved on one difficulty, per answer.</summary>
public sealed record ModeResult(string Label, int Difficulty, int Problems, double Accuracy, double OutputTokens, double Milliseconds, double Flops, double Steps);

/// <summary>
/// Latent reasoning against chain-of-thought tokens on the held-out arithmetic problems, through the real inference
/// engine (KV cache, chat template, greedy decoding): accuracy, output tokens, wall time and FLOPs per answer.
/// </summary>
public static class LatentVsCotComparison
{
    /// <summary>Difficulties compared: 1..8 (1..6 trained) and the longer, never-trained 10 and 12.</summary>
    public static IReadOnlyList<int> Difficulties { get; } = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12];

    /// <summary>The modes of the comparison: the recurrent model at r = 8, 32 and adaptive; the CoT model at r = 1.</summary>
    public static IReadOnlyList<AnsweringMode> Modes(string latentFolder, string cotFolder) =>
    [
        new("latent r=8", latentFolder, AnswerFormat.Latent, new DepthPolicy { MaxSteps = 8 }),
        new("latent r=32", latentFolder, AnswerFormat.Latent, new DepthPolicy { MaxSteps = 32 }),
        new("latent adaptive", latentFolder, AnswerFormat.Latent, new DepthPolicy { MaxSteps = 64, MinSteps = 4, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }),
        new("CoT r=1", cotFolder, AnswerFormat.ChainOfThought, new DepthPolicy { MaxSteps = 1 }),
    ];

    /// <summary>Runs every mode on the first <paramref name="count"/> held-out problems of each difficulty.</summary>
    public static async Task<IReadOnlyList<ModeResult>> RunAsync(IReadOnlyList<AnsweringMode> modes, int count, int threads)
    {
        ArgumentNullException.ThrowIfNull(modes);
        var results = new List<ModeResult>();
        foreach (var group in modes.GroupBy(m => m.ModelFolder))
        {
            using var engine = InferenceEngine.Load(new EngineOptions { ModelPath = group.Key, Device = "cpu", DType = "float32", MaxBatch = 1, Threads = threads });
            foreach (var mode in group)
            {
                foreach (int k in Difficulties)
                {
                    results.Add(await MeasureAsync(engine, mode, k, ArithmeticTask.HeldOut(k, count)));
                }
            }
        }

        return results;
    }

    private static async Task<ModeResult> MeasureAsync(InferenceEngine engine, AnsweringMode mode, int k, IReadOnlyList<ArithmeticProblem> problems)
    {
        int correct = 0;
        double tokens = 0, ms = 0, flops = 0, steps = 0;
        foreach (var problem in problems)
        {
            var request = new GenerationRequest
            {
                Messages = [new ChatTurn("user", problem.Text)],
                Depth = mode.Depth,
                MaxNewTokens = mode.Format == AnswerFormat.Latent ? 2 : k + 2,
                Seed = 1,
            };
            var text = new StringBuilder();
            GenerationSummary? summary = null;
            await foreach (var update in engine.GenerateAsync(request))
            {
                text.Append(update.TextDelta);
                summary ??= update.Summary;
            }

            var response = text.ToString().Trim();
            int? answer = mode.Format == AnswerFormat.Latent
                ? response.Length > 0 && char.IsAsciiDigit(response[0]) ? response[0] - '0' : null
                : ChainOfThoughtFormat.AnswerOf(response);
            correct += answer == problem.Answer ? 1 : 0;
            tokens += summary!.OutputTokens;
            ms += summary.Elapsed.TotalMilliseconds;
            flops += summary.EffectiveFlops;
            steps += summary.TotalSteps;
        }

        int n = problems.Count;
        return new ModeResult(mode.Label, k, n, 100.0 * correct / n, tokens / n, ms / n, flops / n, steps / n);
    }

    /// <summary>Two markdown tables: accuracy per difficulty, then cost per answer.</summary>
    public static string ToMarkdown(IReadOnlyList<ModeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var c = CultureInfo.InvariantCulture;
        var labels = results.Select(r => r.Label).Distinct().ToList();
        var text = new StringBuilder();
        text.AppendLine(c, $"| k | n | {string.Join(" | ", labels.Select(l => $"{l} acc %"))} |");
        text.AppendLine($"|---|---|{string.Concat(labels.Select(_ => "---|"))}");
        foreach (int k in results.Select(r => r.Difficulty).Distinct())
        {
            var row = labels.Select(l => results.Single(r => r.Label == l && r.Difficulty == k)).ToList();
            text.AppendLine(c, $"| {k}{(k > 6 ? " (untrained)" : "")} | {row[0].Problems} | {string.Join(" | ", row.Select(r => r.Accuracy.ToString("F1", c)))} |");
        }

        text.AppendLine();
        text.AppendLine("Per answer: output tokens / recurrence steps / wall ms / MFLOPs.");
        text.AppendLine();
        text.AppendLine(c, $"| k | {string.Join(" | ", labels)} |");
        text.AppendLine($"|---|{string.Concat(labels.Select(_ => "---|"))}");
        foreach (int k in results.Select(r => r.Difficulty).Distinct())
        {
            var row = labels.Select(l => results.Single(r => r.Label == l && r.Difficulty == k));
            text.AppendLine(c, $"| {k} | {string.Join(" | ", row.Select(r => string.Create(c, $"{r.OutputTokens:F1} / {r.Steps:F1} / {r.Milliseconds:F1} / {r.Flops / 1e6:F2}")))} |");
        }

        return text.ToString();
    }
}
