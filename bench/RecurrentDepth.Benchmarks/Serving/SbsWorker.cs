using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using RecurrentDepth.Benchmarks.Harness;
using RecurrentDepth.Modeling;
using TorchSharp;

namespace RecurrentDepth.Benchmarks.Serving;

/// <summary>
/// <c>worker</c>: the C# side of the side-by-side harness (protocol copied beside this file: PROTOCOL.md). A long-lived process that reads
/// one JSON command per line on stdin and answers each with one <c>@@SBS {json}</c> line on stdout; everything else
/// goes to stderr. Models are served by <see cref="BenchEngine"/> (the project's engine, as an application loads
/// it) and every <c>run</c> goes through <see cref="ServingRun"/>: one request per row, submitted together.
/// </summary>
public sealed class SbsWorker : IDisposable
{
    private const string Prefix = "@@SBS ";
    private const int DefaultMaxBatch = 8;
    private readonly Dictionary<string, BenchEngine> _models = new(StringComparer.Ordinal);
    private readonly int _threads;
    private readonly bool _measureConvergence;

    private SbsWorker(int threads, bool measureConvergence)
    {
        _threads = threads;
        _measureConvergence = measureConvergence;
    }

    /// <summary>Serves stdin until <c>quit</c> or end of input.</summary>
    /// <param name="args">Worker flags: <c>--measure-convergence on|off</c> (default on, the engine's default), which
    /// sets <c>EngineOptions.MeasureConvergence</c>: off skips the extra readout that fixed-depth tokens spend on their
    /// convergence figure, the work the reference does not do.</param>
    /// <returns>The process exit code.</returns>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        bool measureConvergence = true;
        for (int i = 0; i < args.Length; i++)
        {
            measureConvergence = (args[i], i + 1 < args.Length ? args[i + 1] : null) switch
            {
                ("--measure-convergence", "on") => true,
                ("--measure-convergence", "off") => false,
                ("--measure-convergence", var value) => throw new ArgumentException($"worker: --measure-convergence takes 'on' or 'off', not '{value}'.", nameof(args)),
                var (flag, _) => throw new ArgumentException($"worker: unknown flag '{flag}'; the only flag is --measure-convergence on|off.", nameof(args)),
            };
            i++;
        }

        int threads = int.TryParse(Environment.GetEnvironmentVariable("SBS_THREADS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int t) && t > 0 ? t : 1;
        torch.set_num_threads(threads);
        var protocol = Console.Out;
        Console.SetOut(Console.Error); // library or runtime chatter goes to stderr; stdout carries only protocol lines
        using var worker = new SbsWorker(threads, measureConvergence);
        string? line;
        while ((line = Console.In.ReadLine()) is not null)
        {
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var (reply, quit) = worker.Handle(line);
            protocol.WriteLine(Prefix + reply.ToJsonString());
            protocol.Flush();
            if (quit)
            {
                break;
            }
        }

        return 0;
    }

    /// <summary>Answers one command line; never throws (errors become <c>"ok": false</c>).</summary>
    public (JsonObject Reply, bool Quit) Handle(string line)
    {
        try
        {
            var cmd = JsonNode.Parse(line)?.AsObject() ?? throw new ArgumentException("the command line is not a JSON object");
            string name = (string?)cmd["cmd"] ?? throw new ArgumentException("the command has no \"cmd\" field");
            return name switch
            {
                "hello" => (Hello(), false),
                "load" => (Load(cmd), false),
                "unload" => (Unload(cmd), false),
                "run" => (RunCommand(cmd), false),
                "quit" => (new JsonObject { ["ok"] = true }, true),
                _ => throw new ArgumentException($"unknown command '{name}'; expected hello, load, unload, run or quit"),
            };
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine(ex);
            return (new JsonObject { ["ok"] = false, ["error"] = ex.Message, ["traceback"] = ex.ToString() }, false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var m in _models.Values)
        {
            m.Dispose();
        }

        _models.Clear();
    }

    private JsonObject Hello()
    {
        static string Version(Assembly a) =>
            a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? a.GetName().Version?.ToString() ?? "?";
        return new JsonObject
        {
            ["ok"] = true,
            ["side"] = "csharp",
            ["dotnet"] = Environment.Version.ToString(),
            ["torchsharp"] = Version(typeof(torch).Assembly),
            ["core"] = Version(typeof(RavenModel).Assembly),
            ["core_path"] = typeof(RavenModel).Assembly.Location,
            ["path"] = "InferenceEngine.GenerateAsync (bench worker)",
            ["torch_threads"] = torch.get_num_threads(),
            ["measure_convergence"] = _measureConvergence,
            ["pid"] = Environment.ProcessId,
        };
    }

    private JsonObject Load(JsonObject cmd)
    {
        string name = Required<string>(cmd, "name");
        string dir = Required<string>(cmd, "dir");
        Replace(name, BenchEngine.Load(dir, DefaultMaxBatch, _threads, _measureConvergence));
        return Describe(_models[name]);
    }

    private JsonObject Unload(JsonObject cmd)
    {
        if (_models.Remove(Required<string>(cmd, "name"), out var m))
        {
            m.Dispose();
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        return new JsonObject { ["ok"] = true, ["rss_mb"] = RssMb() };
    }

    private JsonObject RunCommand(JsonObject cmd)
    {
        string name = Required<string>(cmd, "model");
        if (!_models.TryGetValue(name, out var model))
        {
            throw new ArgumentException($"model '{name}' is not loaded; send {{\"cmd\":\"load\",\"name\":\"{name}\",\"dir\":...}} first");
        }

        var prompts = (cmd["prompts"] as JsonArray ?? throw new ArgumentException("run needs \"prompts\": a list of token-id lists"))
            .Select(p => p!.AsArray().Select(x => (int)x!).ToArray()).ToArray();
        var workload = new ServingWorkload
        {
            Prompts = prompts,
            NewTokens = Required<int>(cmd, "new_tokens"),
            Mode = Required<string>(cmd, "mode"),
            Steps = Required<int>(cmd, "steps"),
            Threshold = cmd["threshold"] is { } th ? (double)th : null,
            Cache = Required<string>(cmd, "cache"),
            InitScale = Required<double>(cmd, "init_scale"),
            Seed = Required<long>(cmd, "seed"),
        };
        if (prompts.Length > model.MaxBatch)
        {
            // A wider batch needs an engine admitting that many rows at once; reload (untimed) rather than queue rows.
            Console.Error.WriteLine($"reloading '{name}' with MaxBatch {prompts.Length}");
            Replace(name, BenchEngine.Load(model.Folder, prompts.Length, _threads, _measureConvergence));
            model = _models[name];
        }

        var result = ServingRun.Run(model.Engine, workload);
        return new JsonObject
        {
            ["ok"] = true,
            ["stamps_s"] = new JsonArray(result.StampsSeconds.Select(x => (JsonNode)x).ToArray()),
            ["cpu_stamps_s"] = new JsonArray(result.CpuStampsSeconds.Select(x => (JsonNode)x).ToArray()),
            ["cpu_clock"] = "process",
            ["total_s"] = result.TotalSeconds,
            ["tokens"] = Rows(result.Tokens),
            ["steps"] = Rows(result.Steps),
            ["finish"] = new JsonArray(result.Finish.Select(f => (JsonNode)f).ToArray()),
            ["rss_mb"] = RssMb(),
        };
    }

    private void Replace(string name, BenchEngine engine)
    {
        if (_models.Remove(name, out var old))
        {
            old.Dispose();
        }

        _models[name] = engine;
    }

    private static JsonObject Describe(BenchEngine model)
    {
        var c = model.Engine.ModelConfig;
        return new JsonObject
        {
            ["ok"] = true,
            ["load_s"] = model.LoadSeconds,
            ["n_params"] = model.ParameterCount(),
            ["config"] = $"n_embd {c.NEmbd}, {c.NHeads} heads, {c.NLayersInPrelude}+{c.NLayersInRecurrentBlock}+{c.NLayersInCoda} layers, vocab {c.VocabSize}",
            ["dtype"] = "Float32",
            ["device"] = model.Engine.DeviceName,
            ["rss_mb"] = RssMb(),
        };
    }

    private static JsonArray Rows(int[][] rows) =>
        new(rows.Select(r => (JsonNode)new JsonArray(r.Select(x => (JsonNode)x).ToArray())).ToArray());

    private static T Required<T>(JsonObject cmd, string field) =>
        cmd[field] is { } node ? node.GetValue<T>() : throw new ArgumentException($"the command lacks \"{field}\"");

    private static double RssMb() => (ProcessMemory.RssBytes() ?? 0) / (1024.0 * 1024.0);
}
