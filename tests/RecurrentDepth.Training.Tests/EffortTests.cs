using RecurrentDepth.Modeling;

namespace RecurrentDepth.Training.Tests;

public sealed class EffortTests
{
    private static readonly string ModelFolder = CommittedModels.Latent;

    [Fact]
    public void Committed_micro_model_is_clearly_more_accurate_with_more_thinking()
    {
        using var model = RavenModel.Load(ModelFolder, new ModelLoadOptions { Device = "cpu", DType = "float32" });
        var slice = ArithmeticTask.HeldOut(5, 50).Concat(ArithmeticTask.HeldOut(6, 50)).ToList();
        double low = EffortEvaluator.Accuracy(model, CommittedModels.Tokenizer, slice, numSteps: 1);
        double high = EffortEvaluator.Accuracy(model, CommittedModels.Tokenizer, slice, numSteps: 16);
        Assert.True(high >= low + 0.5, $"held-out k = 5, 6 (100 problems): {low:P0} at 1 step, {high:P0} at 16 steps; expected at least 50 points more");
    }

    [Fact]
    public void Effort_report_has_one_row_per_difficulty_and_renders_a_png()
    {
        using var model = RavenModel.Load(ModelFolder, new ModelLoadOptions { Device = "cpu", DType = "float32" });
        var report = EffortEvaluator.Evaluate(model, CommittedModels.Tokenizer, [1, 7], 8, [1, 2, 4], threshold: 5e-4, cap: 4);
        Assert.Equal([1, 7], report.Results.Select(r => r.Difficulty));
        Assert.All(report.Results, r => Assert.InRange(r.AdaptiveMeanSteps, 2, 4));
        var png = EffortPlot.Render(report);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png.Take(4).ToArray());
        Assert.Contains("| 7 | 8 |", report.ToMarkdown(), StringComparison.Ordinal);
    }
}
