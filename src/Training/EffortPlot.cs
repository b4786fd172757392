using System.Globalization;

namespace RecurrentDepth.Training;

/// <summary>Renders the effort curve: held-out accuracy against recurrence steps (log₂ axis), one line per difficulty.</summary>
public static class EffortPlot
{
    private static readonly (byte, byte, byte)[] Palette =
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
    ];

    /// <summary>PNG bytes of the plot. Difficulties above <paramref name="maxTrained"/> are dashed and marked untrained.</summary>
    public static byte[] Render(EffortReport report, int maxTrained = 6)
    {
        ArgumentNullException.ThrowIfNull(report);
        const int width = 900, height = 560, left = 80, right = 240, top = 60, bottom = 70;
        var canvas = new PngCanvas(width, height);
        var black = ((byte)0, (byte)0, (byte)0);
        var grid = ((byte)225, (byte)225, (byte)225);
        int plotW = width - left - right, plotH = height - top - bottom;
        double minLog = Math.Log2(report.Steps.Min()), maxLog = Math.Log2(report.Steps.Max());
        double X(int steps) => left + (Math.Log2(steps) - minLog) / Math.Max(1e-9, maxLog - minLog) * plotW;
        double Y(double accuracy) => top + (1 - accuracy) * plotH;

        for (int p = 0; p <= 100; p += 20)
        {
            canvas.Line(left, Y(p / 100.0), left + plotW, Y(p / 100.0), grid);
            var label = p.ToString(CultureInfo.InvariantCulture);
            canvas.Text(left - 10 - PngCanvas.TextWidth(label), (int)Y(p / 100.0) - 7, label, black);
        }

        foreach (var r in report.Steps)
        {
            canvas.Line(X(r), top, X(r), top + plotH, grid);
            var label = r.ToString(CultureInfo.InvariantCulture);
            canvas.Text((int)X(r) - PngCanvas.TextWidth(label) / 2, top + plotH + 10, label, black);
        }

        canvas.Line(left, top, left, top + plotH, black, 2);
        canvas.Line(left, top + plotH, left + plotW, top + plotH, black, 2);
        const string title = "held-out accuracy (%) vs recurrence steps";
        canvas.Text(left + (plotW - PngCanvas.TextWidth(title)) / 2, 20, title, black);
        const string xTitle = "recurrence steps r (log scale)";
        canvas.Text(left + (plotW - PngCanvas.TextWidth(xTitle)) / 2, height - 30, xTitle, black);

        for (int i = 0; i < report.Results.Count; i++)
        {
            var row = report.Results[i];
            var color = Palette[i % Palette.Length];
            bool untrained = row.Difficulty > maxTrained;
            for (int j = 0; j + 1 < report.Steps.Count; j++)
            {
                int a = report.Steps[j], b = report.Steps[j + 1];
                canvas.Line(X(a), Y(row.AccuracyAtSteps[a]), X(b), Y(row.AccuracyAtSteps[b]), color, 3, untrained ? 8 : 0);
            }

            foreach (var r in report.Steps)
            {
                canvas.FillRect((int)X(r) - 4, (int)Y(row.AccuracyAtSteps[r]) - 4, 9, 9, color);
            }

            int ly = top + 10 + i * 28;
            canvas.Line(left + plotW + 20, ly + 7, left + plotW + 50, ly + 7, color, 3, untrained ? 6 : 0);
            canvas.Text(left + plotW + 58, ly, string.Create(CultureInfo.InvariantCulture, $"k={row.Difficulty}{(untrained ? " untrained" : "")}"), black);
        }

        return canvas.ToPng();
    }
}
