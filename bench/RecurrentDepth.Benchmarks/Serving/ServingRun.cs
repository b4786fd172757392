using System.Diagnostics;
using RecurrentDepth.Benchmarks.Harness;
using RecurrentDepth.Engine;

namespace RecurrentDepth.Benchmarks.Serving;

/// <summary>What one workload produced: per-token time stamps (all rows together) and each row's tokens.</summary>
/// <param name="StampsSeconds">Entry k: wall seconds from just before the first request was submitted to the moment
/// every row had produced its token k (entry 0 includes the prefill).</param>
/// <param name="CpuStampsSeconds">The same instants as this process's CPU seconds (the engine's device thread does
/// the work, so the calling thread's own CPU time would say nothing).</param>
/// <param name="TotalSeconds">Wall time of the whole workload.</param>
/// <param name="Tokens">Per row, the generated token ids.</param>
/// <param name="Steps">Per row, the recurrence steps each token ran.</param>
/// <param name="Finish">Per row, the finish reason.</param>
public sealed record ServingResult(
    double[] StampsSeconds, double[] CpuStampsSeconds, double TotalSeconds, int[][] Tokens, int[][] Steps, string[] Finish);

/// <summary>
/// Runs a <see cref="ServingWorkload"/> through the project's serving path: one <see cref="GenerationRequest"/> per row
/// (prompt tokens, greedy, the workload's depth, cache, seed, <see cref="GenerationRequest.IgnoreEndOfTurn"/>), all
/// submitted together to <see cref="IInferenceEngine.GenerateAsync"/>, which batches them. Each row's stream is read
/// on its own task and every token is stamped when it reaches the reader, so the figures include the engine's
/// queueing, batching and output processing, as a caller sees them.
/// </summary>
public static class ServingRun
{
    /// <summary>Runs the workload and waits for every row.</summary>
    /// <exception cref="InvalidOperationException">A row failed, or did not produce exactly T tokens.</exception>
    public static ServingResult Run(IInferenceEngine engine, ServingWorkload workload)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(workload);
        var depth = workload.Depth();
        var cache = workload.CacheStrategy();
        int rows = workload.Prompts.Count;
        var requests = Enumerable.Range(0, rows).Select(r => new GenerationRequest
        {
            PromptTokens = workload.Prompts[r],
            Depth = depth,
            Sampling = Generation.SamplingOptions.Greedy,
            Cache = cache,
            Seed = workload.Seed + r,
            MaxNewTokens = workload.NewTokens,
            IgnoreEndOfTurn = true,
        }.Validate()).ToArray();

        // Nothing of an earlier run is left for the collector to do inside this one.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        long start = Stopwatch.GetTimestamp();
        double cpuStart = CpuClock.ProcessSeconds();
        var readers = requests.Select(request => Task.Run(() => Read(engine, request, start, cpuStart))).ToArray();
        Task.WaitAll(readers);
        double total = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var results = readers.Select(t => t.Result).ToArray();

        int T = workload.NewTokens;
        for (int r = 0; r < rows; r++)
        {
            if (results[r].Tokens.Count != T)
            {
                throw new InvalidOperationException($"row {r} produced {results[r].Tokens.Count} tokens, expected {T} (finish: {results[r].Finish}).");
            }
        }

        var stamps = new double[T];
        var cpuStamps = new double[T];
        for (int k = 0; k < T; k++)
        {
            stamps[k] = results.Max(x => x.Wall[k]);
            cpuStamps[k] = results.Max(x => x.Cpu[k]);
        }

        return new ServingResult(stamps, cpuStamps, total,
            results.Select(x => x.Tokens.ToArray()).ToArray(),
            results.Select(x => x.Steps.ToArray()).ToArray(),
            results.Select(x => x.Finish).ToArray());
    }

    private sealed record RowResult(List<int> Tokens, List<int> Steps, List<double> Wall, List<double> Cpu, string Finish);

    private static async Task<RowResult> Read(IInferenceEngine engine, GenerationRequest request, long start, double cpuStart)
    {
        var tokens = new List<int>(request.MaxNewTokens);
        var steps = new List<int>(request.MaxNewTokens);
        var wall = new List<double>(request.MaxNewTokens);
        var cpu = new List<double>(request.MaxNewTokens);
        string finish = "none";
        await foreach (var update in engine.GenerateAsync(request).ConfigureAwait(false))
        {
            if (update.Token is { } token)
            {
                wall.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                cpu.Add(CpuClock.ProcessSeconds() - cpuStart);
                tokens.Add(token.TokenId);
                steps.Add(token.Steps);
            }

            if (update.Summary is { } summary)
            {
                finish = summary.FinishReason.ToString();
            }
        }

        return new RowResult(tokens, steps, wall, cpu, finish);
    }
}
