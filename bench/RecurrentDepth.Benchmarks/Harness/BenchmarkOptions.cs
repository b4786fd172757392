using System.Globalization;
using TorchSharp;

namespace RecurrentDepth.Benchmarks.Harness;

/// <summary>Options shared by every benchmark.</summary>
public sealed record BenchmarkOptions
{
    public const string Help =
        "Options:\n" +
        "  --threads N   libtorch intra-op threads (default 1)\n" +
        "  --warmup N    untimed runs before timing (default 1)\n" +
        "  --runs N      timed runs; the median is reported (default: chosen per case)\n" +
        "  --smoke       one untimed-warm-up-free iteration of scaled-down cases, to check the harness runs";

    /// <summary>libtorch intra-op threads.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Untimed runs before timing.</summary>
    public int Warmup { get; init; } = 1;

    /// <summary>Timed runs, or null for each case's default.</summary>
    public int? Runs { get; init; }

    /// <summary>Run one iteration of small cases only.</summary>
    public bool Smoke { get; init; }

    /// <summary>Timed runs for a case whose default is <paramref name="caseDefault"/>.</summary>
    public int RunsFor(int caseDefault) => Smoke ? 1 : Runs ?? caseDefault;

    /// <summary>Warm-up runs for a case.</summary>
    public int WarmupRuns => Smoke ? 0 : Warmup;

    public static BenchmarkOptions Parse(ReadOnlySpan<string> args)
    {
        var options = new BenchmarkOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Value(ReadOnlySpan<string> a) =>
                i + 1 < a.Length ? a[++i] : throw new ArgumentException($"Option '{a[i]}' needs a value.");

            int Positive(string name, string text) =>
                int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 1
                    ? n
                    : throw new ArgumentException($"Option '{name}' is '{text}'; expected a positive integer.");

            options = args[i] switch
            {
                "--threads" => options with { Threads = Positive("--threads", Value(args)) },
                "--runs" => options with { Runs = Positive("--runs", Value(args)) },
                "--warmup" => options with { Warmup = int.TryParse(Value(args), out int w) && w >= 0 ? w : throw new ArgumentException("Option '--warmup' expects an integer ≥ 0.") },
                "--smoke" => options with { Smoke = true },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
            };
        }

        return options;
    }

    /// <summary>Applies process-wide settings (thread count).</summary>
    public void Apply() => torch.set_num_threads(Threads);
}
