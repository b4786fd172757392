using System.Diagnostics;
using System.Globalization;
using RecurrentDepth.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Benchmarks;

/// <summary>
/// <c>ops</c>: tensor calls and time per core step (adapter + the core's sandwich blocks) of the tiny fixture model on
/// CPU, one torch thread, fp32, no cache. Tensor calls are counted as the tensors TorchSharp creates (its dispose-scope
/// statistics: every op result is one, a chunk or unbind of n is n); per block = (per step − 2) / core layers, the 2
/// being the adapter's cat and linear. Time: median of <c>--repeats</c> runs of <c>--steps</c> core steps each, per
/// step, after a warm-up run.
/// </summary>
public static class OpsBenchmark
{
    /// <summary>Runs it and prints a markdown table.</summary>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        int steps = Option(args, "--steps", 2000), repeats = Option(args, "--repeats", 5);
        torch.set_num_threads(1);
        string folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "huginn-tiny");
        using var model = RavenModel.Load(folder, new ModelLoadOptions { Device = "cpu", DType = "float32" });
        int layers = model.Config.NLayersInRecurrentBlock;
        Console.WriteLine($"ops benchmark: huginn-tiny core step ({layers} sandwich blocks + adapter), fp32 CPU, 1 torch thread, {steps} steps x {repeats} runs");
        Console.WriteLine();
        Console.WriteLine("| tokens in the call | tensors per core step | tensors per block | µs per core step (median) | µs per block |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (int tokens in new[] { 1, 12 })
        {
            using var scope = NewDisposeScope();
            using var grad = no_grad();
            var ids = arange(tokens, ScalarType.Int64).unsqueeze(0) * 7 % model.Config.VocabSize;
            var context = model.CreateContext(arange(tokens, ScalarType.Int64));
            var embedded = model.RunPrelude(model.Embed(ids), context);
            using var generator = new Generator(1, CPU);
            var state = model.SampleInitialState(embedded, 1.0, generator);

            long Created() => DisposeScopeManager.Statistics.CreatedInScopeCount + DisposeScopeManager.Statistics.CreatedOutsideScopeCount;
            Step(model, state, embedded, context); // warm-up
            long before = Created();
            Step(model, state, embedded, context);
            long perStep = Created() - before;

            var times = new List<double>();
            for (int run = -1; run < repeats; run++)
            {
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < steps; i++)
                {
                    Step(model, state, embedded, context);
                }

                double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds / steps;
                if (run >= 0)
                {
                    times.Add(us);
                }
            }

            double median = times.Order().ElementAt(times.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {tokens} | {perStep} | {(perStep - 2) / (double)layers:F1} | {median:F1} | {median / layers:F1} |"));
        }

        return 0;
    }

    private static void Step(RavenModel model, Tensor state, Tensor embedded, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        model.Iterate(state, embedded, 0, context);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
