using System.Text;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Training.Tests;

/// <summary>The committed chain-of-thought baseline through the real engine, and the comparison's report shapes.</summary>
public sealed class LatentVsCotTests
{
    private static readonly string CotFolder = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith-cot");

    private static readonly string LatentFolder = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");

    [Fact]
    public async Task Cot_model_writes_the_running_values_at_one_step_per_token()
    {
        using var engine = InferenceEngine.Load(new EngineOptions { ModelPath = CotFolder, Device = "cpu", DType = "float32", MaxBatch = 1, Threads = 1 });
        var problems = ArithmeticTask.HeldOut(3, 10);
        int exact = 0;
        foreach (var problem in problems)
        {
            var text = new StringBuilder();
            GenerationSummary? summary = null;
            var request = new GenerationRequest { Messages = [new ChatTurn("user", problem.Text)], Depth = new DepthPolicy { MaxSteps = 1 }, MaxNewTokens = 8, Seed = 1 };
            await foreach (var update in engine.GenerateAsync(request))
            {
                text.Append(update.TextDelta);
                summary ??= update.Summary;
            }

            exact += text.ToString().Trim() == ChainOfThoughtFormat.Response(problem) ? 1 : 0;
            Assert.Equal(summary!.OutputTokens, summary.TotalSteps);
        }

        Assert.True(exact >= 9, $"{exact}/10 held-out k = 3 problems answered with exactly the running values");
    }

    [Fact]
    public async Task Comparison_reports_every_mode_and_difficulty_and_renders_a_png()
    {
        var modes = LatentVsCotComparison.Modes(LatentFolder, CotFolder);

        var results = await LatentVsCotComparison.RunAsync(modes, count: 2, threads: 1);

        Assert.Equal(modes.Count * LatentVsCotComparison.Difficulties.Count, results.Count);
        // The latent model answers with the digit and end of turn; every CoT token runs exactly one step.
        Assert.All(results.Where(r => r.Label.StartsWith("latent", StringComparison.Ordinal)), r => Assert.Equal(2, r.OutputTokens));
        Assert.All(results.Where(r => r.Label == "CoT r=1"), r => Assert.Equal(r.OutputTokens, r.Steps));
        Assert.Contains("| 12 (untrained) | 2 |", LatentVsCotComparison.ToMarkdown(results), StringComparison.Ordinal);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, LatentVsCotPlot.Render(results).Take(4).ToArray());
    }
}
