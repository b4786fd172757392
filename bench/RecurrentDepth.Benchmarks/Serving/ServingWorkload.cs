using System.Globalization;
using RecurrentDepth.Caching;
using RecurrentDepth.Generation;

namespace RecurrentDepth.Benchmarks.Serving;

/// <summary>
/// One decode workload as the side-by-side protocol states it: prompt rows decoded together, greedy, a fixed depth
/// or KL exit with a step cap, a cache strategy, the initial-state scale and a seed; every row generates exactly
/// <see cref="NewTokens"/> tokens (end-of-turn tokens do not stop it).
/// </summary>
public sealed record ServingWorkload
{
    /// <summary>Prompt token ids, one list per row.</summary>
    public required IReadOnlyList<int[]> Prompts { get; init; }

    /// <summary>Tokens every row generates (T).</summary>
    public required int NewTokens { get; init; }

    /// <summary>"fixed" or "kl".</summary>
    public string Mode { get; init; } = "fixed";

    /// <summary>Fixed depth, or the step cap of KL exit.</summary>
    public int Steps { get; init; } = 8;

    /// <summary>KL threshold (mode "kl" only).</summary>
    public double? Threshold { get; init; }

    /// <summary>Cache strategy text, e.g. "full" or "latest-m4".</summary>
    public string Cache { get; init; } = "full";

    /// <summary>Std multiplier of the random initial state; 0 = zero state.</summary>
    public double InitScale { get; init; }

    /// <summary>Seed of row 0; row r uses Seed + r.</summary>
    public long Seed { get; init; }

    /// <summary>The depth policy the rows run under.</summary>
    public DepthPolicy Depth() => Mode switch
    {
        "fixed" => new DepthPolicy { MaxSteps = Steps, InitScale = InitScale }.Validate(),
        "kl" => new DepthPolicy
        {
            MaxSteps = Steps,
            Criterion = ExitCriterion.Kl,
            Threshold = Threshold ?? throw new ArgumentException("mode \"kl\" needs a threshold.", "threshold"),
            InitScale = InitScale,
        }.Validate(),
        _ => throw new ArgumentException($"mode is '{Mode}'; expected \"fixed\" or \"kl\".", "mode"),
    };

    /// <summary>The parsed cache strategy.</summary>
    public CacheStrategy CacheStrategy() => Caching.CacheStrategy.Parse(Cache, "cache");

    /// <summary>One line for logs and table rows.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"batch {Prompts.Count}, prompt {Prompts[0].Length}, {NewTokens} new, {Mode} {Steps}{(Mode == "kl" ? $" ({Threshold:G3})" : "")}, cache {Cache}, init_scale {InitScale}");
}
