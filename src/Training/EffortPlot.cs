using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace RecurrentDepth.Training;

/// <summary>The effort curve: held-out accuracy against recurrence steps (log₂ axis), one line per difficulty (PNG, drawn with ScottPlot).</summary>
public static class EffortPlot
{
    /// <summary>
    /// PNG bytes of the plot: x = recurrence steps r on a log₂ axis ticked at the evaluated counts, y = held-out
    /// accuracy (%). Difficulties above <paramref name="maxTrained"/> are dashed and marked untrained in the legend.
    /// </summary>
    public static byte[] Render(EffortReport report, int maxTrained = 6)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = new Plot();
        // Steps double from one count to the next, so a log₂ axis spaces them evenly.
        double[] xs = report.Steps.Select(r => Math.Log2(r)).ToArray();
        foreach (var row in report.Results)
        {
            bool untrained = row.Difficulty > maxTrained;
            var scatter = plot.Add.Scatter(xs, report.Steps.Select(r => 100 * row.AccuracyAtSteps[r]).ToArray());
            scatter.LegendText = string.Create(CultureInfo.InvariantCulture, $"k = {row.Difficulty}{(untrained ? " (untrained)" : "")}");
            scatter.LineWidth = 2;
            scatter.MarkerSize = 7;
            if (untrained)
            {
                scatter.LinePattern = LinePattern.Dashed;
            }
        }

        var ticks = new NumericManual();
        foreach (var r in report.Steps)
        {
            ticks.AddMajor(Math.Log2(r), r.ToString(CultureInfo.InvariantCulture));
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Left.TickGenerator = new NumericFixedInterval(10);
        plot.Title("Held-out accuracy vs recurrence steps, per difficulty k");
        plot.XLabel("recurrence steps r (log₂ scale)");
        plot.YLabel("accuracy (%)");
        plot.Axes.SetLimits(xs.Min() - 0.2, xs.Max() + 0.2, 0, 105);
        // Every curve has reached its plateau at the right edge, so the lower right is empty.
        plot.ShowLegend(Alignment.LowerRight);
        return plot.GetImageBytes(900, 560, ImageFormat.Png);
    }
}
