using System.Diagnostics;

namespace RecurrentDepth.Benchmarks.Harness;

/// <summary>Warm-up, repeated timed runs, median.</summary>
public static class Timing
{
    /// <summary>Runs <paramref name="action"/> <paramref name="warmup"/> times untimed, then <paramref name="runs"/> times timed.</summary>
    /// <returns>The median and the fastest and slowest run, in milliseconds.</returns>
    public static (double Median, double Min, double Max) Measure(Action action, int warmup, int runs)
    {
        for (int i = 0; i < warmup; i++)
        {
            action();
        }

        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        double median = runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
        return (median, times[0], times[^1]);
    }
}
