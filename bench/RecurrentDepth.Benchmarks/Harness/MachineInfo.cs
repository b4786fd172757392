using System.Runtime.InteropServices;
using TorchSharp;

namespace RecurrentDepth.Benchmarks.Harness;

/// <summary>What the numbers were measured on, printed above every table.</summary>
public static class MachineInfo
{
    public static string Describe(BenchmarkOptions options)
    {
        string cpu = "unknown CPU";
        if (File.Exists("/proc/cpuinfo"))
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }

        return $"machine: {cpu}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}\n" +
               $"torch threads: {torch.get_num_threads()} (--threads {options.Threads}), CUDA available: {torch.cuda.is_available()}" +
               (options.Smoke ? "\nmode: --smoke (1 iteration, scaled-down cases; timings are not meaningful)" : "");
    }
}
