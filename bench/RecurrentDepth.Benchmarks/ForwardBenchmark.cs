using System.Globalization;
using RecurrentDepth.Benchmarks.Harness;
using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Benchmarks;

/// <summary>
/// Forward-pass throughput (prompt tokens per second, no cache) and peak memory at several recurrence depths, in fp32
/// and bf16, for the tiny fixture model and for one layer per stage at huginn-0125's shapes with random weights.
/// </summary>
public sealed class ForwardBenchmark : IBenchmark
{
    private const ulong Seed = 1234;

    /// <inheritdoc />
    public string Description => "forward throughput (tokens/s) and peak RSS: tiny fixture and huginn-0125-shaped layers, fp32 vs bf16";

    /// <summary>A model to measure: how to build it, the input it gets and the step counts.</summary>
    private sealed record Case(string Name, Func<ScalarType, RavenModel> Build, int Batch, int Tokens, int[] Steps, int Runs);

    private sealed record Row(string Model, string DType, int Steps, int Tokens, double MedianMs, double MinMs, double MaxMs, long WeightBytes, long? PeakRss);

    /// <inheritdoc />
    public int Run(BenchmarkOptions options)
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "huginn-tiny");
        Case[] cases = options.Smoke
            ?
            [
                new("huginn-tiny", dt => LoadFixture(fixture, dt), 1, 16, [1], 1),
                new("synthetic-small (smoke)", dt => Synthetic(SmokeShape(), dt), 1, 4, [1], 1),
            ]
            :
            [
                new("huginn-tiny", dt => LoadFixture(fixture, dt), 1, 64, [1, 4, 32], 20),
                new("huginn-0125 shapes, 1/1/1 layers", dt => Synthetic(HuginnShape(), dt), 1, 16, [1, 4], 3),
            ];

        bool peakResets = ProcessMemory.TryResetPeak();
        var rows = new List<Row>();
        foreach (var c in cases)
        {
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                rows.AddRange(Measure(c, dtype, options));
            }
        }

        Console.WriteLine();
        Console.WriteLine(Table(rows));
        Console.WriteLine(
            $"Input: batch 1, random token ids (seed {Seed}), s0 drawn with init_scale 1; no KV cache. tokens/s and the ratios use the median of the timed runs " +
            $"after {options.WarmupRuns} warm-up run(s). Peak RSS is VmHWM from /proc/self/status " +
            (peakResets ? "reset before each model is built, so it covers building/loading the model and all its runs." : "(process-wide: the kernel refused a reset)."));
        return 0;
    }

    private static IEnumerable<Row> Measure(Case c, ScalarType dtype, BenchmarkOptions options)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        ProcessMemory.TryResetPeak();
        Console.Error.WriteLine($"[{c.Name} {Name(dtype)}] building...");
        using var model = c.Build(dtype);
        long weightBytes = model.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
        using var generator = new Generator(Seed, CPU);
        using var ids = randint(0, model.Config.VocabSize, [c.Batch, c.Tokens], ScalarType.Int64, generator: generator);
        var results = new List<(int Steps, (double, double, double) Time)>();
        foreach (int steps in c.Steps)
        {
            int runs = options.RunsFor(c.Runs);
            Console.Error.WriteLine($"[{c.Name} {Name(dtype)}] {steps} step(s): {options.WarmupRuns} warm-up + {runs} timed run(s)...");
            var time = Timing.Measure(() =>
            {
                using var scope = NewDisposeScope();
                using var grad = no_grad();
                using var s0Generator = new Generator(Seed, CPU);
                using var output = model.Forward(ids, steps, initScale: 1.0, generator: s0Generator);
                _ = output.Logits.data<float>()[0]; // make sure the result exists before the clock stops
            }, options.WarmupRuns, runs);
            results.Add((steps, time));
        }

        long? peak = ProcessMemory.PeakRssBytes();
        return results.Select(r => new Row(c.Name, Name(dtype), r.Steps, c.Batch * c.Tokens, r.Time.Item1, r.Time.Item2, r.Time.Item3, weightBytes, peak)).ToList();
    }

    private static string Table(List<Row> rows)
    {
        static string F(double x, string format) => x.ToString(format, CultureInfo.InvariantCulture);
        static string MiB(long? bytes) => bytes is long b ? F(b / 1048576.0, b < 100L << 20 ? "N1" : "N0") : "n/a";

        var lines = new List<string>
        {
            "| model | dtype | steps | tokens | median ms | min ms | tokens/s | bf16/fp32 time | time vs 1 step | weights MiB | peak RSS MiB |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        foreach (var r in rows)
        {
            var fp32 = rows.FirstOrDefault(o => o.Model == r.Model && o.Steps == r.Steps && o.DType == "fp32");
            var oneStep = rows.FirstOrDefault(o => o.Model == r.Model && o.DType == r.DType && o.Steps == 1);
            string dtypeRatio = r.DType == "bf16" && fp32 is not null ? F(r.MedianMs / fp32.MedianMs, "0.00") + "×" : "";
            string stepRatio = oneStep is not null && r.Steps != 1 ? F(r.MedianMs / oneStep.MedianMs, "0.00") + "×" : "";
            lines.Add($"| {r.Model} | {r.DType} | {r.Steps} | {r.Tokens} | {F(r.MedianMs, "0.00")} | {F(r.MinMs, "0.00")} | {F(r.Tokens / (r.MedianMs / 1000), "N0")} | " +
                      $"{dtypeRatio} | {stepRatio} | {MiB(r.WeightBytes)} | {MiB(r.PeakRss)} |");
        }

        return string.Join(Environment.NewLine, lines);
    }

    private static string Name(ScalarType dtype) => dtype == ScalarType.BFloat16 ? "bf16" : "fp32";

    private static RavenModel LoadFixture(string folder, ScalarType dtype) =>
        RavenModel.Load(folder, new ModelLoadOptions { Device = "cpu", DType = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32" });

    /// <summary>huginn-0125's widths (n_embd 5280, 55 heads, intermediate 17920, vocab 65536), one layer per stage.</summary>
    private static RavenConfig HuginnShape() => new()
    {
        NEmbd = 5280, NHeads = 55, NumKeyValueHeads = 55, NLayersInPrelude = 1, NLayersInRecurrentBlock = 1, NLayersInCoda = 1,
        IntermediateSize = 17920, VocabSize = 65536,
    };

    /// <summary>Same structure at a tenth of the width, for --smoke.</summary>
    private static RavenConfig SmokeShape() => new()
    {
        NEmbd = 440, NHeads = 55, NumKeyValueHeads = 55, NLayersInPrelude = 1, NLayersInRecurrentBlock = 1, NLayersInCoda = 1,
        IntermediateSize = 1536, VocabSize = 4096,
    };

    /// <summary>
    /// Builds the model directly in <paramref name="dtype"/> and fills every matrix with N(0, init std²) (norm weights
    /// stay 1, qk_bias 0), so no fp32 copy of the weights ever exists for the bf16 case.
    /// </summary>
    private static RavenModel Synthetic(RavenConfig config, ScalarType dtype)
    {
        var model = new RavenModel(config.Validate("benchmark"), dtype, CPU);
        using var generator = new Generator(Seed, CPU);
        using (no_grad())
        {
            foreach (var (_, parameter) in model.named_parameters())
            {
                if (parameter.dim() == 2)
                {
                    parameter.normal_(0, config.InitStd, generator);
                }
            }
        }

        return model;
    }
}
