using System.Globalization;
using System.Text.Json.Nodes;

namespace RecurrentDepth.Benchmarks.Serving;

/// <summary>
/// <c>decode</c> with workload flags: one workload through the serving path (<see cref="ServingRun"/>), e.g.
/// <c>decode --prompt-len 12 --batch 8 --steps 8 --cache full --init-scale 0 --json</c>. One untimed warm-up run,
/// then <c>--repeats</c> timed runs; reports the median decode tokens/s (prefill excluded, all rows together), the
/// prefill time, the per-token growth (last 16 decode tokens / first 16) and the steps per decode token.
/// </summary>
public static class SingleDecode
{
    /// <summary>The flags that select this mode of <c>decode</c>.</summary>
    public static readonly string[] Flags =
        ["--prompt-len", "--batch", "--steps", "--mode", "--threshold", "--cache", "--init-scale", "--seed", "--json"];

    /// <summary>Usage text.</summary>
    public const string Help =
        "decode (one workload): --model DIR --prompt-len N (12) --batch N (1) --tokens N (32) --steps N (8) " +
        "--mode fixed|kl (fixed) --threshold X (5e-4, kl) --cache S (full) --init-scale X (0) --seed N (0) --repeats N (3) --json";

    /// <summary>Whether <paramref name="args"/> ask for a single workload.</summary>
    public static bool Wants(string[] args) => args.Any(a => Flags.Contains(a, StringComparer.Ordinal));

    /// <summary>Runs it; prints one markdown row, or one JSON object with <c>--json</c>.</summary>
    /// <returns>The process exit code.</returns>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new Options(args);
        string folder = o.Text("--model") ?? Path.Combine(AppContext.BaseDirectory, "fixtures", "huginn-tiny");
        int batch = o.Int("--batch", 1), promptLength = o.Int("--prompt-len", 12), repeats = o.Int("--repeats", 3);
        string mode = o.Text("--mode") ?? "fixed";
        using var engine = BenchEngine.Load(folder, batch, threads: 1);
        int vocab = engine.Engine.ModelConfig.VocabSize;
        var workload = new ServingWorkload
        {
            Prompts = Enumerable.Range(0, batch).Select(r => Enumerable.Range(0, promptLength).Select(i => (r * 97 + i * 31 + 5) % vocab).ToArray()).ToArray(),
            NewTokens = o.Int("--tokens", 32),
            Mode = mode,
            Steps = o.Int("--steps", 8),
            Threshold = mode == "kl" ? o.Double("--threshold", 5e-4) : null,
            Cache = o.Text("--cache") ?? "full",
            InitScale = o.Double("--init-scale", 0),
            Seed = o.Int("--seed", 0),
        };
        if (workload.NewTokens < 2)
        {
            throw new ArgumentOutOfRangeException("--tokens", workload.NewTokens, "--tokens must be at least 2 (decode time is measured after the first token).");
        }

        Console.Error.WriteLine($"decode (serving path): {Path.GetFileName(engine.Folder)}, {workload.Describe()}, 1 warm-up + {repeats} timed runs");
        ServingRun.Run(engine.Engine, workload);
        var runs = Enumerable.Range(0, repeats).Select(_ => ServingRun.Run(engine.Engine, workload)).ToList();

        double Median(Func<ServingResult, double> pick)
        {
            var xs = runs.Select(pick).Order().ToArray();
            return xs.Length % 2 == 1 ? xs[xs.Length / 2] : (xs[xs.Length / 2 - 1] + xs[xs.Length / 2]) / 2;
        }

        int n = workload.NewTokens;
        double tokS = Median(r => batch * (n - 1) / (r.StampsSeconds[^1] - r.StampsSeconds[0]));
        double cpuTokS = Median(r => batch * (n - 1) / (r.CpuStampsSeconds[^1] - r.CpuStampsSeconds[0]));
        double prefillMs = Median(r => r.StampsSeconds[0] * 1000);
        double growth = Median(Growth);
        double steps = runs[0].Steps.SelectMany(s => s.Skip(1)).Average();
        if (o.Has("--json"))
        {
            Console.WriteLine(new JsonObject
            {
                ["model"] = Path.GetFileName(engine.Folder),
                ["batch"] = batch,
                ["prompt_len"] = promptLength,
                ["new_tokens"] = n,
                ["mode"] = mode,
                ["steps"] = workload.Steps,
                ["threshold"] = workload.Threshold,
                ["cache"] = workload.Cache,
                ["init_scale"] = workload.InitScale,
                ["repeats"] = repeats,
                ["decode_tok_s"] = tokS,
                ["cpu_decode_tok_s"] = cpuTokS,
                ["prefill_ms"] = prefillMs,
                ["growth"] = growth,
                ["steps_per_decode_token"] = steps,
                ["tokens"] = new JsonArray(runs[0].Tokens.Select(r => (JsonNode)new JsonArray(r.Select(x => (JsonNode)x).ToArray())).ToArray()),
            }.ToJsonString());
        }
        else
        {
            Console.WriteLine("| workload | decode tok/s (wall) | decode tok/s (process CPU) | prefill ms | growth | steps/token |");
            Console.WriteLine("|---|---|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {workload.Describe()} | {tokS:F1} | {cpuTokS:F1} | {prefillMs:F1} | {growth:F2} | {steps:F2} |"));
        }

        return 0;
    }

    private static double Growth(ServingResult r)
    {
        var dts = r.StampsSeconds.Zip(r.StampsSeconds.Skip(1), (a, b) => b - a).ToArray();
        int k = Math.Min(16, dts.Length / 2);
        return k < 1 ? double.NaN : dts[^k..].Average() / dts[..k].Average();
    }

    private sealed class Options(string[] args)
    {
        public bool Has(string name) => args.Contains(name, StringComparer.Ordinal);

        public string? Text(string name)
        {
            int i = Array.IndexOf(args, name);
            return i < 0 ? null : i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"Option '{name}' needs a value.", name);
        }

        public int Int(string name, int fallback) => Text(name) is { } t
            ? int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"Option '{name}' is '{t}'; expected an integer.", name)
            : fallback;

        public double Double(string name, double fallback) => Text(name) is { } t
            ? double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new ArgumentException($"Option '{name}' is '{t}'; expected a number.", name)
            : fallback;
    }
}
