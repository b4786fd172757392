using RecurrentDepth.Benchmarks;
using RecurrentDepth.Benchmarks.Harness;

// The native backend first (RDSK_LIBTORCH_DIR, if set), before any TorchSharp call; a failure says what is missing.
try
{
    RecurrentDepth.Devices.LibTorchBackend.EnsureLoaded();
}
catch (RecurrentDepth.Devices.LibTorchLoadException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 3;
}

// Usage: RecurrentDepth.Benchmarks <benchmark> [--threads N] [--smoke] [--runs N] [--warmup N]
// One class per benchmark; add new ones (decode, effort) to this table.
var benchmarks = new Dictionary<string, Func<IBenchmark>>(StringComparer.OrdinalIgnoreCase)
{
    ["forward"] = () => new ForwardBenchmark(),
};

// Effort (accuracy per difficulty and recurrence depth of the micro model) is the trainer's evaluation.
if (args.Length > 0 && args[0].Equals("effort", StringComparison.OrdinalIgnoreCase))
{
    var rest = args[1..];
    var defaults = rest.Contains("--model") ? [] : new[] { "--model", Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith") };
    return RecurrentDepth.Training.CommandLine.Run(["eval", .. defaults, .. rest]);
}

// The side-by-side benchmark's worker (bench/RecurrentDepth.Benchmarks/Serving/PROTOCOL.md, a copy of the side-by-side harness protocol): the serving path, driven over stdin.
if (args.Length > 0 && args[0].Equals("worker", StringComparison.OrdinalIgnoreCase))
{
    try
    {
        return RecurrentDepth.Benchmarks.Serving.SbsWorker.Run(args[1..]);
    }
    catch (ArgumentException e) when (e.ParamName == "args")
    {
        Console.Error.WriteLine(e.Message.Replace(" (Parameter 'args')", "", StringComparison.Ordinal));
        return 2;
    }
}

// One decode workload through the serving path, from flags (--prompt-len, --batch, --steps, --cache, ... --json).
if (args.Length > 0 && args[0].Equals("decode", StringComparison.OrdinalIgnoreCase) && RecurrentDepth.Benchmarks.Serving.SingleDecode.Wants(args[1..]))
{
    return RecurrentDepth.Benchmarks.Serving.SingleDecode.Run(args[1..]);
}

// Tensor calls and time per core step and sandwich block (eager, and TorchScript where compiled).
if (args.Length > 0 && args[0].Equals("ops", StringComparison.OrdinalIgnoreCase))
{
    return OpsBenchmark.Run(args[1..]);
}

// Constrained-decoding mask cost per token (one row) on a synthetic vocabulary of huginn's size.
if (args.Length > 0 && args[0].Equals("constraints", StringComparison.OrdinalIgnoreCase))
{
    return ConstraintMaskBenchmark.Run(args[1..]);
}

// huginn-0125 at full size with random weights: write the checkpoint, then load and decode in child processes.
if (args.Length > 0 && args[0].Equals("fullsize", StringComparison.OrdinalIgnoreCase))
{
    return RecurrentDepth.Benchmarks.FullSize.FullSizeBenchmark.Run(args[1..]);
}

// Decode has its own options (--tokens N, --repeats N, --model DIR) and always runs with one torch thread.
if (args.Length > 0 && args[0].Equals("decode", StringComparison.OrdinalIgnoreCase))
{
    return DecodeBenchmark.Run(args[1..]);
}

if (args.Length == 0 || args[0] is "-h" or "--help" || !benchmarks.TryGetValue(args[0], out var create))
{
    Console.Error.WriteLine("Usage: RecurrentDepth.Benchmarks <benchmark> [options]");
    Console.Error.WriteLine();
    Console.Error.WriteLine("Benchmarks:");
    foreach (var (name, factory) in benchmarks)
    {
        Console.Error.WriteLine($"  {name,-10} {factory().Description}");
    }

    Console.Error.WriteLine($"  {"decode",-10} decode tokens/s, KV bytes/token, batching and context scaling (--tokens N --repeats N --model DIR)");
    Console.Error.WriteLine($"  {"",-10} {RecurrentDepth.Benchmarks.Serving.SingleDecode.Help}");
    Console.Error.WriteLine($"  {"ops",-10} tensor calls and µs per core step and sandwich block of the tiny model (--steps N --repeats N)");
    Console.Error.WriteLine($"  {"constraints",-10} {ConstraintMaskBenchmark.Help}");
    Console.Error.WriteLine($"  {RecurrentDepth.Benchmarks.FullSize.FullSizeBenchmark.Help}");
    Console.Error.WriteLine($"  {"worker",-10} side-by-side worker: speaks the side-by-side protocol (Serving/PROTOCOL.md) on stdin/stdout (serving path); --measure-convergence on|off (on)");
    Console.Error.WriteLine($"  {"effort",-10} micro-model accuracy per difficulty vs recurrence steps and adaptive exit (--docs DIR --count N)");
    Console.Error.WriteLine();
    Console.Error.WriteLine(BenchmarkOptions.Help);
    return args.Length == 0 || args[0] is "-h" or "--help" ? 0 : 2;
}

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args.AsSpan(1));
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchmarkOptions.Help);
    return 2;
}

options.Apply();
Console.WriteLine(MachineInfo.Describe(options));
return create().Run(options);
