using System.Runtime.InteropServices;

namespace RecurrentDepth.Benchmarks.Harness;

/// <summary>CPU-time clocks of Linux (<c>clock_gettime</c>); NaN elsewhere.</summary>
public static class CpuClock
{
    private const int ProcessCpuTimeId = 2; // CLOCK_PROCESS_CPUTIME_ID
    private const int ThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID

    /// <summary>CPU seconds of every thread of this process (the engine's device thread included).</summary>
    public static double ProcessSeconds() => Read(ProcessCpuTimeId);

    /// <summary>CPU seconds of the calling thread.</summary>
    public static double ThreadSeconds() => Read(ThreadCpuTimeId);

    private static double Read(int clock) =>
        OperatingSystem.IsLinux() && ClockGetTime(clock, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN;

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clockId, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
