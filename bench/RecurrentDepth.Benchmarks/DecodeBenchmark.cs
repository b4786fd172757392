using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Benchmarks;

/// <summary>
/// <c>decode</c>: decode throughput and KV bytes per token of the tiny fixture model on CPU, one torch thread, for
/// several depths and cache strategies; batch 8 with mixed depths under depth-aware and lock-step scheduling; and the
/// time of one decode step as the context grows. Counts (core batches, sequence steps, bytes) are exact. Times are
/// taken round-robin over the rows of a table (so background load spreads evenly over them), after a warm-up pass over
/// every row; the tables give the median of the calling thread's CPU time (with one torch thread libtorch computes on
/// the calling thread, so this leaves out time other processes take on a shared machine) and the best wall time.
/// </summary>
public static class DecodeBenchmark
{
    private const int PromptLength = 16;
    private const int ContextDecodeTokens = 16;
    private const int ContextSteps = 8;

    /// <summary>Runs the benchmark and prints markdown tables.</summary>
    /// <param name="args"><c>--tokens N</c> decoded tokens per run (default 32); <c>--repeats N</c> timed runs per
    /// row (default 5); <c>--model DIR</c> checkpoint folder (default: the tiny fixture copied next to the program);
    /// <c>--only single|batch|context</c> runs one table.</param>
    /// <returns>The process exit code.</returns>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        int tokens = IntOption(args, "--tokens", 32);
        int repeats = IntOption(args, "--repeats", 5);
        string folder = StringOption(args, "--model") ?? Path.Combine(AppContext.BaseDirectory, "fixtures", "huginn-tiny");

        torch.set_num_threads(1);
        using var model = RavenModel.Load(folder, new ModelLoadOptions { Device = "cpu", DType = "float32" });
        var c = model.Config;
        Console.WriteLine($"decode benchmark: {Path.GetFileName(folder)} (n_embd {c.NEmbd}, {c.NHeads} heads, {c.NLayersInPrelude}+{c.NLayersInRecurrentBlock}+{c.NLayersInCoda} layers, " +
            $"vocab {c.VocabSize}), {model.DType} on CPU, torch threads {torch.get_num_threads()}, prompt {PromptLength}, {tokens} decoded tokens per run, " +
            $"{repeats} runs per row; CPU = median thread CPU time, wall = best wall time");

        // --only single|batch|context runs one table (e.g. to re-measure the depth-aware vs lock-step rows alone).
        string only = StringOption(args, "--only") ?? "all";
        if (only is not ("all" or "single" or "batch" or "context"))
        {
            Console.Error.WriteLine($"--only expects single, batch or context (got '{only}').");
            return 2;
        }

        if (only is "all" or "single")
        {
            SingleTable(model, tokens, repeats);
        }

        if (only is "all" or "batch")
        {
            BatchTable(model, tokens, repeats);
        }

        if (only is "all" or "context")
        {
            ContextTable(model, repeats);
        }

        return 0;
    }

    private sealed record Timing(double Cpu, double Wall);

    private static void SingleTable(RavenModel model, int tokens, int repeats)
    {
        var kl = KlPolicy();
        var rows = new List<(string Depth, DepthPolicy Policy, string Cache)>();
        foreach (int r in new[] { 4, 8, 32 })
        {
            foreach (var cache in new[] { "full", "compress-s4", "compress-s16" })
            {
                rows.Add(($"fixed {r}", DepthPolicy.Fixed(r), cache));
            }
        }

        foreach (var cache in new[] { "full", "latest-m4", "latest-m4-compress-s16" })
        {
            rows.Add(("kl 5e-4, cap 32", kl, cache));
        }

        var stats = new (double Steps, double Bytes)[rows.Count];
        var times = Interleaved(rows.Count, repeats, i =>
        {
            var (timing, steps, bytes) = DecodeOne(model, rows[i].Policy, CacheStrategy.Parse(rows[i].Cache), tokens);
            stats[i] = (steps, bytes);
            return timing;
        });

        int baseline = rows.FindIndex(r => r.Depth == "fixed 8" && r.Cache == "full");
        double baseTokS = 1 / Median(times[baseline], t => t.Cpu);
        Console.WriteLine();
        Console.WriteLine("## Batch 1: decode throughput and KV bytes per token");
        Console.WriteLine();
        Console.WriteLine("| depth | cache | steps/token | tok/s (CPU) | ms/token | ms/step | tok/s (wall) | KV B/token | KV vs full r=8 | tok/s vs full r=8 |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        for (int i = 0; i < rows.Count; i++)
        {
            double perToken = Median(times[i], t => t.Cpu);
            double wall = times[i].Min(t => t.Wall);
            var (steps, bytes) = stats[i];
            Console.WriteLine($"| {rows[i].Depth} | {rows[i].Cache} | {steps:F1} | {1 / perToken:F1} | {perToken * 1000:F2} | {perToken * 1000 / steps:F3} | {1 / wall:F1} | " +
                $"{bytes:N0} | {bytes / stats[baseline].Bytes:F2}× | {1 / perToken / baseTokS:F2}× |");
        }
    }

    private static void BatchTable(RavenModel model, int tokens, int repeats)
    {
        Console.WriteLine();
        Console.WriteLine("## Batch 8 (and 32), mixed depths: depth-aware vs lock-step");
        Console.WriteLine();
        Console.WriteLine("| workload | schedule | core batches | core calls | prelude + readout calls | sequence steps | tokens | CPU s | tok/s (CPU) | wall s | mean batches until a row finishes | batches vs lock-step | tok/s vs lock-step |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, workload) in Workloads(tokens))
        {
            var counts = new BatchCounts[2];
            var times = Interleaved(2, repeats, i =>
            {
                var (timing, batchCounts) = DecodeBatch(model, workload, depthAware: i == 0);
                counts[i] = batchCounts;
                return timing;
            });

            double lockTokS = counts[1].Tokens / Median(times[1], t => t.Cpu);
            for (int i = 0; i < 2; i++)
            {
                double cpu = Median(times[i], t => t.Cpu);
                var n = counts[i];
                Console.WriteLine($"| {name} | {(i == 0 ? "depth-aware" : "lock-step")} | {n.CoreBatches} | {n.CoreCalls} | {n.PreludeCalls} + {n.ReadoutCalls} | {n.SequenceSteps} | {n.Tokens} | {cpu:F2} | {n.Tokens / cpu:F1} | " +
                    $"{times[i].Min(t => t.Wall):F2} | {n.MeanFinish:F0} | {(double)n.CoreBatches / counts[1].CoreBatches:F2}× | {n.Tokens / cpu / lockTokS:F2}× |");
            }
        }
    }

    private static void ContextTable(RavenModel model, int repeats)
    {
        int[] contexts = [64, 256, 1024];
        using var random = new Generator(7, CPU);
        var prompts = contexts.Select(n =>
        {
            using var ids = randint(0, model.Config.VocabSize, [n], ScalarType.Int64, generator: random);
            return ids.data<long>().Select(t => (int)t).ToArray();
        }).ToList();
        var times = Interleaved(contexts.Length, repeats, i => DecodeOne(model, DepthPolicy.Fixed(ContextSteps), CacheStrategy.Full, ContextDecodeTokens, prompts[i]).Timing);

        Console.WriteLine();
        Console.WriteLine($"## Decode step time vs context (fixed {ContextSteps}, full cache, batch 1, {ContextDecodeTokens} tokens after the prefill)");
        Console.WriteLine();
        Console.WriteLine("| context | ms/token (CPU) | ms/step | ms/token (wall) | vs context 64 | context ratio |");
        Console.WriteLine("|---|---|---|---|---|---|");
        double first = Median(times[0], t => t.Cpu);
        for (int i = 0; i < contexts.Length; i++)
        {
            double ms = Median(times[i], t => t.Cpu) * 1000;
            Console.WriteLine($"| {contexts[i]} | {ms:F2} | {ms / ContextSteps:F3} | {times[i].Min(t => t.Wall) * 1000:F2} | {ms / 1000 / first:F2}× | {contexts[i] / contexts[0]}× |");
        }
    }

    private static DepthPolicy KlPolicy() => new DepthPolicy { MaxSteps = 32, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }.Validate();

    private static IEnumerable<(string Name, SequenceOptions[] Workload)> Workloads(int tokens)
    {
        var kl = KlPolicy();
        int[] depths = [4, 8, 16, 32, 4, 8, 16, 32];
        yield return ("fixed 4/8/16/32, equal lengths", depths.Select((d, i) => Options(i, DepthPolicy.Fixed(d), tokens)).ToArray());

        // Effort levels with the lengths a chat mix has: shallow rows write more, deep rows less; two rows exit by KL.
        yield return ("fixed 4/8/16/32 + kl, mixed lengths",
        [
            Options(0, DepthPolicy.Fixed(4), tokens * 2), Options(1, DepthPolicy.Fixed(4), tokens * 2),
            Options(2, DepthPolicy.Fixed(8), tokens), Options(3, DepthPolicy.Fixed(8), tokens),
            Options(4, kl, tokens), Options(5, kl, tokens),
            Options(6, DepthPolicy.Fixed(16), tokens / 2), Options(7, DepthPolicy.Fixed(32), tokens / 4),
        ]);

        // 32 requests at the connector's default efforts (none: fixed 4, low: fixed 8, medium: KL exit up to 16, high:
        // KL exit up to 32), all admitted together, with lengths from a quarter to the full token count.
        var efforts = new[] { DepthPolicy.Fixed(4), DepthPolicy.Fixed(8), new DepthPolicy { MaxSteps = 16, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }.Validate(), kl };
        int[] lengths = [tokens, tokens / 2, tokens / 4, tokens * 3 / 4];
        yield return ("32 requests, mixed efforts none/low/medium/high",
            Enumerable.Range(0, 32).Select(i => Options(i, efforts[i % 4], Math.Max(1, lengths[i / 4 % 4]))).ToArray());
    }

    private static SequenceOptions Options(int index, DepthPolicy depth, int maxNew, CacheStrategy? cache = null, int[]? prompt = null) => new()
    {
        Prompt = prompt ?? Enumerable.Range(0, PromptLength).Select(i => (index * 97 + i * 31 + 5) % 512).ToArray(),
        Depth = depth,
        Cache = cache ?? CacheStrategy.Full,
        MaxNewTokens = maxNew,
        Seed = 1000 + index,
    };

    // Batch 1: times the decode after the prefill (from the first token to the last), per decoded token.
    private static (Timing Timing, double StepsPerToken, double BytesPerToken) DecodeOne(RavenModel model, DepthPolicy depth, CacheStrategy cache, int tokens, int[]? prompt = null)
    {
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(Options(0, depth, tokens + 1, cache, prompt));
        while (sequence.Generated.Count == 0)
        {
            decoder.Step();
        }

        var clock = Clock.Start();
        decoder.RunToCompletion();
        var (wall, cpu) = clock.Stop();
        int decoded = sequence.Generated.Count - 1;
        return (new Timing(cpu / decoded, wall / decoded), sequence.Generated.Skip(1).Average(g => g.Steps), sequence.Cache.BytesPerToken);
    }

    private readonly record struct BatchCounts(long CoreBatches, long CoreCalls, long PreludeCalls, long ReadoutCalls, long SequenceSteps, int Tokens, double MeanFinish);

    private static (Timing Timing, BatchCounts Counts) DecodeBatch(RavenModel model, SequenceOptions[] workload, bool depthAware)
    {
        using var decoder = new RecurrentDecoder(model, depthAware);
        var sequences = workload.Select(decoder.Add).ToList();
        var finishedAt = new Dictionary<DecodeSequence, long>();
        var clock = Clock.Start();
        while (decoder.HasWork)
        {
            decoder.Step();
            foreach (var s in sequences.Where(s => s.Phase == SequencePhase.Finished && !finishedAt.ContainsKey(s)))
            {
                finishedAt[s] = decoder.CoreBatches;
            }
        }

        var (wall, cpu) = clock.Stop();
        return (new Timing(cpu, wall), new BatchCounts(decoder.CoreBatches, decoder.CoreCalls, decoder.PreludeCalls, decoder.ReadoutCalls, decoder.SequenceSteps,
            sequences.Sum(s => s.Generated.Count), finishedAt.Values.Average()));
    }

    // One untimed warm-up pass over every row (JIT tiering, libtorch kernels, allocator), then `repeats` timed passes.
    private static List<Timing>[] Interleaved(int rows, int repeats, Func<int, Timing> run)
    {
        var times = Enumerable.Range(0, rows).Select(_ => new List<Timing>()).ToArray();
        for (int k = -1; k < repeats; k++)
        {
            for (int i = 0; i < rows; i++)
            {
                var t = run(i);
                if (k >= 0)
                {
                    times[i].Add(t);
                }
            }
        }

        return times;
    }

    private static double Median(List<Timing> values, Func<Timing, double> pick)
    {
        var sorted = values.Select(pick).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static int IntOption(string[] args, string name, int fallback) =>
        StringOption(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? StringOption(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    // Wall-clock and calling-thread CPU seconds (CPU falls back to wall where the thread clock is unavailable).
    private readonly struct Clock
    {
        private const int ThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID on Linux
        private readonly long _wallStart;
        private readonly double _cpuStart;

        private Clock(long wallStart, double cpuStart)
        {
            _wallStart = wallStart;
            _cpuStart = cpuStart;
        }

        public static Clock Start() => new(Stopwatch.GetTimestamp(), ThreadCpuSeconds());

        public (double Wall, double Cpu) Stop()
        {
            double wall = Stopwatch.GetElapsedTime(_wallStart).TotalSeconds;
            double cpu = ThreadCpuSeconds();
            return (wall, double.IsNaN(cpu) ? wall : cpu - _cpuStart);
        }

        private static double ThreadCpuSeconds() =>
            OperatingSystem.IsLinux() && ClockGetTime(ThreadCpuTimeId, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN;

        [DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clockId, out TimeSpec time);

        [StructLayout(LayoutKind.Sequential)]
        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }
    }
}
