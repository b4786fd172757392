using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RecurrentDepth.Benchmarks.Harness;
using RecurrentDepth.Devices;
using RecurrentDepth.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Benchmarks.FullSize;

/// <summary>
/// huginn-0125 at full size (3.5B parameters, 16 GB of fp32 shards) with random weights: load time and peak RSS
/// into bf16 and into fp32, and seconds per decode token at a few recurrence depths. Every measurement runs in its
/// own child process, so each peak RSS (VmHWM) is that load's alone.
/// <code>
/// fullsize run --dir DIR [--keep] [--steps 4,8] [--batch 1] [--prefill 0] [--repeats N] [--threads N] [--device cpu] [--dtypes bfloat16,float32]
/// fullsize write --dir DIR [--shard-dtype float32|bfloat16]
/// fullsize measure --dir DIR --dtype bfloat16|float32 [--steps 4,8] [--batch 1] [--prefill 0] [--repeats N] [--threads N] [--device cpu]
/// </code>
/// A decode token is one token through the whole model (prelude, r core iterations, coda, head) with no KV context:
/// the cost of a decode step, whose weight reads dominate at batch 1.
/// </summary>
public static class FullSizeBenchmark
{
    public const string Help = "fullsize  huginn-0125-shaped checkpoint (random weights, 4 fp32 shards, ~16 GB): load time and peak RSS in bf16 and fp32, s/token at r=4,8 " +
        "(run --dir DIR [--keep] [--steps 4,8] [--repeats N] [--threads N] | write --dir DIR | measure --dir DIR --dtype D)";

    public static int Run(string[] args)
    {
        var options = Options.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine(Help);
            return 2;
        }

        return options.Command switch
        {
            "write" => WriteCommand(options),
            "measure" => Measure(options),
            _ => RunAll(options, args),
        };
    }

    private static int WriteCommand(Options options)
    {
        Console.WriteLine(LibTorchBackend.EnsureLoaded().Describe());
        var clock = Stopwatch.StartNew();
        long bytes = HuginnShapedCheckpoint.Write(options.Dir, ComputeDevice.ResolveDType(options.ShardDType, CPU), Console.WriteLine);
        Console.WriteLine($"checkpoint: {bytes / 1e9:F2} GB in {clock.Elapsed.TotalSeconds:F0} s at {options.Dir}");
        return 0;
    }

    private static int Measure(Options options)
    {
        LibTorchBackend.EnsureLoaded();
        torch.set_num_threads(options.Threads);
        var clock = Stopwatch.StartNew();
        using var model = RavenModel.Load(options.Dir, new ModelLoadOptions { Device = options.Device, DType = options.DType });
        double loadSeconds = clock.Elapsed.TotalSeconds;
        long? loadPeak = ProcessMemory.PeakRssBytes(), loadRss = ProcessMemory.RssBytes();

        var perToken = new JsonObject();
        var prefill = new JsonObject();
        using (no_grad())
        {
            foreach (int batch in options.Batches)
            {
                using var ids = full(batch, 1, 65504L, ScalarType.Int64).to(model.Device);
                foreach (int steps in options.Steps)
                {
                    var (median, min, max) = TimeForward(model, ids, steps, options.Repeats);
                    perToken[batch == 1 ? $"r{steps}" : $"b{batch}_r{steps}"] = new JsonObject { ["batch"] = batch, ["median_s"] = median, ["min_s"] = min, ["max_s"] = max, ["tokens_per_s"] = batch / median };
                }
            }

            if (options.Prefill > 0)
            {
                using var prompt = full(1, options.Prefill, 65504L, ScalarType.Int64).to(model.Device);
                foreach (int steps in options.Steps)
                {
                    var (median, _, _) = TimeForward(model, prompt, steps, options.Repeats);
                    prefill[$"r{steps}"] = new JsonObject { ["tokens"] = options.Prefill, ["median_s"] = median, ["tokens_per_s"] = options.Prefill / median };
                }
            }
        }

        var result = new JsonObject
        {
            ["dtype"] = options.DType,
            ["device"] = model.Device.ToString(),
            ["threads"] = torch.get_num_threads(),
            ["load_s"] = loadSeconds,
            ["load_peak_rss_bytes"] = loadPeak,
            ["rss_after_load_bytes"] = loadRss,
            ["peak_rss_bytes"] = ProcessMemory.PeakRssBytes(),
            ["decode_token"] = perToken,
            ["prefill"] = prefill,
            ["cuda_available"] = torch.cuda.is_available(),
        };
        Console.WriteLine("RESULT " + result.ToJsonString());
        return 0;
    }

    // One full forward per run; reading a value back waits for the device, so GPU timings are complete.
    private static (double Median, double Min, double Max) TimeForward(RavenModel model, Tensor ids, int steps, int repeats)
    {
        var (median, min, max) = Timing.Measure(() =>
        {
            using var output = model.Forward(ids, steps, initScale: 0);
            _ = output.Logits.sum().cpu().item<float>();
        }, warmup: 1, runs: repeats);
        return (median / 1000, min / 1000, max / 1000);
    }

    private static int RunAll(Options options, string[] args)
    {
        Console.WriteLine(MachineDescription(options));
        if (!File.Exists(Path.Combine(options.Dir, "model.safetensors.index.json")))
        {
            int written = Child(["write", "--dir", options.Dir, "--shard-dtype", options.ShardDType], out _);
            if (written != 0)
            {
                return written;
            }
        }

        var results = new List<JsonNode>();
        try
        {
            foreach (var dtype in options.DTypes)
            {
                string[] measure = ["measure", "--dir", options.Dir, "--dtype", dtype, "--steps", string.Join(',', options.Steps), "--batch", string.Join(',', options.Batches), "--prefill", options.Prefill.ToString(CultureInfo.InvariantCulture), "--repeats", options.Repeats.ToString(CultureInfo.InvariantCulture), "--threads", options.Threads.ToString(CultureInfo.InvariantCulture), "--device", options.Device];
                int code = Child(measure, out var output);
                var line = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
                if (code != 0 || line is null)
                {
                    Console.Error.WriteLine($"measure {dtype} failed (exit {code}).");
                    return code == 0 ? 1 : code;
                }

                results.Add(JsonNode.Parse(line["RESULT ".Length..])!);
            }
        }
        finally
        {
            if (!options.Keep)
            {
                Directory.Delete(options.Dir, recursive: true);
                Console.WriteLine($"deleted {options.Dir}");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| dtype | load (s) | peak RSS of the load (GB) | {string.Join(" | ", options.Steps.Select(r => $"decode token r={r} (s)"))} |");
        Console.WriteLine($"|---|---|---|{string.Concat(options.Steps.Select(_ => "---|"))}");
        foreach (var r in results)
        {
            var cells = options.Steps.Select(s => ((double)r["decode_token"]![$"r{s}"]!["median_s"]!).ToString("F2", CultureInfo.InvariantCulture));
            Console.WriteLine($"| {r["dtype"]} | {(double)r["load_s"]!:F1} | {(long)r["load_peak_rss_bytes"]! / 1e9:F2} | {string.Join(" | ", cells)} |");
        }

        Console.WriteLine();
        Console.WriteLine("JSON " + new JsonArray(results.Select(r => r.DeepClone()).ToArray()).ToJsonString());
        return 0;
    }

    private static int Child(string[] args, out string output)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(FullSizeBenchmark).Assembly.Location);
        }

        start.ArgumentList.Add("fullsize");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var text = new System.Text.StringBuilder();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            Console.WriteLine(line.StartsWith("RESULT ", StringComparison.Ordinal) ? line[..Math.Min(line.Length, 200)] : line);
            text.AppendLine(line);
        }

        process.WaitForExit();
        output = text.ToString();
        return process.ExitCode;
    }

    private static string MachineDescription(Options options)
    {
        var cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() : null;
        var mem = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal)) : null;
        return $"machine: {cpu ?? "unknown CPU"}, {Environment.ProcessorCount} logical cores, {mem?.Split(':')[1].Trim()}; torch threads {options.Threads}; device {options.Device}";
    }

    private sealed class Options
    {
        public string Command { get; private set; } = "run";
        public string Dir { get; private set; } = "";
        public string DType { get; private set; } = "bfloat16";
        public string ShardDType { get; private set; } = "float32";
        public string Device { get; private set; } = "cpu";
        public IReadOnlyList<string> DTypes { get; private set; } = ["bfloat16", "float32"];
        public IReadOnlyList<int> Steps { get; private set; } = [4, 8];
        public IReadOnlyList<int> Batches { get; private set; } = [1];
        public int Prefill { get; private set; }
        public int Repeats { get; private set; } = 2;
        public int Threads { get; private set; } = Math.Min(2, Environment.ProcessorCount);
        public bool Keep { get; private set; }

        public static Options? Parse(string[] args)
        {
            var o = new Options();
            int i = 0;
            if (args.Length > 0 && args[0] is "run" or "write" or "measure")
            {
                o.Command = args[0];
                i = 1;
            }

            for (; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--dir": o.Dir = Path.GetFullPath(Next()); break;
                    case "--dtype": o.DType = Next(); break;
                    case "--dtypes": o.DTypes = Next().Split(','); break;
                    case "--shard-dtype": o.ShardDType = Next(); break;
                    case "--device": o.Device = Next(); break;
                    case "--steps": o.Steps = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList(); break;
                    case "--batch": o.Batches = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList(); break;
                    case "--prefill": o.Prefill = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--repeats": o.Repeats = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--threads": o.Threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--keep": o.Keep = true; break;
                    default: return null;
                }
            }

            return o.Dir.Length == 0 ? null : o;
        }
    }
}
