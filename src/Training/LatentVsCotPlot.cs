using System.Globalization;

namespace RecurrentDepth.Training;

/// <summary>Accuracy against difficulty for each answering mode (PNG).</summary>
public static class LatentVsCotPlot
{
    private static readonly (byte, byte, byte)[] Palette = [(31, 119, 180), (44, 160, 44), (148, 103, 189), (214, 39, 40), (255, 127, 14)];

    /// <summary>PNG bytes: one line per mode, x = difficulty k, y = held-out accuracy (%); the CoT line dashed.</summary>
    public static byte[] Render(IReadOnlyList<ModeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        const int width = 900, height = 560, left = 80, right = 220, top = 60, bottom = 70;
        var canvas = new PngCanvas(width, height);
        var black = ((byte)0, (byte)0, (byte)0);
        var grid = ((byte)225, (byte)225, (byte)225);
        var ks = results.Select(r => r.Difficulty).Distinct().Order().ToList();
        int plotW = width - left - right, plotH = height - top - bottom;
        double X(int k) => left + (k - ks[0]) / (double)Math.Max(1, ks[^1] - ks[0]) * plotW;
        double Y(double accuracy) => top + (1 - accuracy / 100) * plotH;
        for (int p = 0; p <= 100; p += 20)
        {
            canvas.Line(left, Y(p), left + plotW, Y(p), grid);
            var label = p.ToString(CultureInfo.InvariantCulture);
            canvas.Text(left - 10 - PngCanvas.TextWidth(label), (int)Y(p) - 7, label, black);
        }

        foreach (int k in ks)
        {
            canvas.Line(X(k), top, X(k), top + plotH, grid);
            var label = k.ToString(CultureInfo.InvariantCulture);
            canvas.Text((int)X(k) - PngCanvas.TextWidth(label) / 2, top + plotH + 10, label, black);
        }

        canvas.Line(left, top, left, top + plotH, black, 2);
        canvas.Line(left, top + plotH, left + plotW, top + plotH, black, 2);
        const string title = "held-out accuracy (%): latent recurrence vs chain of thought";
        canvas.Text(left + (plotW - PngCanvas.TextWidth(title)) / 2, 20, title, black);
        const string xTitle = "difficulty k (operations; k > 6 untrained)";
        canvas.Text(left + (plotW - PngCanvas.TextWidth(xTitle)) / 2, height - 30, xTitle, black);
        var labels = results.Select(r => r.Label).Distinct().ToList();
        for (int i = 0; i < labels.Count; i++)
        {
            var line = results.Where(r => r.Label == labels[i]).OrderBy(r => r.Difficulty).ToList();
            var color = Palette[i % Palette.Length];
            int dash = labels[i].StartsWith("CoT", StringComparison.Ordinal) ? 8 : 0;
            for (int j = 0; j + 1 < line.Count; j++)
            {
                canvas.Line(X(line[j].Difficulty), Y(line[j].Accuracy), X(line[j + 1].Difficulty), Y(line[j + 1].Accuracy), color, 3, dash);
            }

            foreach (var point in line)
            {
                canvas.FillRect((int)X(point.Difficulty) - 4, (int)Y(point.Accuracy) - 4, 9, 9, color);
            }

            int ly = top + 10 + i * 28;
            canvas.Line(left + plotW + 20, ly + 7, left + plotW + 50, ly + 7, color, 3, dash == 0 ? 0 : 6);
            canvas.Text(left + plotW + 58, ly, labels[i], black);
        }

        return canvas.ToPng();
    }
}
