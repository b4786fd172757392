using ScottPlot;

namespace RecurrentDepth.Training;

/// <summary>Accuracy against difficulty for each answering mode (PNG, drawn with ScottPlot).</summary>
public static class LatentVsCotPlot
{
    /// <summary>PNG bytes: one line per mode, x = difficulty k, y = held-out accuracy (%); the CoT line dashed.</summary>
    public static byte[] Render(IReadOnlyList<ModeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var plot = new Plot();
        foreach (var label in results.Select(r => r.Label).Distinct())
        {
            var line = results.Where(r => r.Label == label).OrderBy(r => r.Difficulty).ToList();
            var scatter = plot.Add.Scatter(line.Select(r => (double)r.Difficulty).ToArray(), line.Select(r => r.Accuracy).ToArray());
            scatter.LegendText = label;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 7;
            if (label.StartsWith("CoT", StringComparison.Ordinal))
            {
                scatter.LinePattern = LinePattern.Dashed;
            }
        }

        int maxK = results.Max(r => r.Difficulty);
        // Shade the difficulties never trained (k > 6) so a reader sees where extrapolation starts.
        var untrained = plot.Add.HorizontalSpan(6.5, maxK + 0.5);
        untrained.FillStyle.Color = Colors.Gray.WithAlpha(0.12);
        untrained.LegendText = "never trained (k > 6)";
        plot.Title("Held-out accuracy: latent recurrence vs chain-of-thought tokens");
        plot.XLabel("difficulty k (operations in the chain)");
        plot.YLabel("accuracy (%)");
        plot.Axes.SetLimits(0.5, maxK + 0.5, 0, 105);
        plot.ShowLegend(Alignment.LowerLeft);
        return plot.GetImageBytes(900, 560, ImageFormat.Png);
    }
}
