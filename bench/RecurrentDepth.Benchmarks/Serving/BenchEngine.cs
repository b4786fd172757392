using System.Diagnostics;
using RecurrentDepth.Checkpoints;
using RecurrentDepth.Engine;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Benchmarks.Serving;

/// <summary>
/// A checkpoint served by an <see cref="InferenceEngine"/> loaded the way an application loads it
/// (<see cref="InferenceEngine.Load"/>: CPU, float32, a batch wide enough for the workload).
/// </summary>
public sealed class BenchEngine : IDisposable
{
    private readonly string? _scratch;

    private BenchEngine(InferenceEngine engine, string folder, int maxBatch, double loadSeconds, string? scratch)
    {
        Engine = engine;
        Folder = folder;
        MaxBatch = maxBatch;
        LoadSeconds = loadSeconds;
        _scratch = scratch;
    }

    /// <summary>The engine.</summary>
    public InferenceEngine Engine { get; }

    /// <summary>The checkpoint folder as given.</summary>
    public string Folder { get; }

    /// <summary>Most rows one workload may have.</summary>
    public int MaxBatch { get; }

    /// <summary>Wall seconds the load took.</summary>
    public double LoadSeconds { get; }

    /// <summary>Parameters in the checkpoint (tensor elements of its safetensors files).</summary>
    public long ParameterCount()
    {
        using var checkpoint = SafetensorsCheckpoint.Open(Folder);
        return checkpoint.Files.Sum(f => f.Tensors.Values.Sum(t => t.ElementCount));
    }

    /// <summary>
    /// Loads <paramref name="folder"/>. The engine needs a tokenizer, and benchmark checkpoints made from random
    /// weights (the side-by-side "mid" model) have none; their prompts are token ids and no text is ever read, so
    /// such a folder is served through a scratch folder of links to its files plus the bundled tiny fixture's
    /// tokenizer (ids past that tokenizer's vocabulary detokenize to no text).
    /// </summary>
    /// <param name="folder">Checkpoint folder.</param>
    /// <param name="maxBatch">Most rows decoded together.</param>
    /// <param name="threads">Torch intra-op threads.</param>
    /// <param name="measureConvergence"><c>EngineOptions.MeasureConvergence</c>.</param>
    public static BenchEngine Load(string folder, int maxBatch, int threads, bool measureConvergence = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string? scratch = null;
        string path = Path.GetFullPath(folder);
        if (!File.Exists(Path.Combine(path, HuginnTokenizer.TokenizerFileName)))
        {
            scratch = Directory.CreateTempSubdirectory("rd-bench-").FullName;
            foreach (var file in Directory.EnumerateFiles(path))
            {
                File.CreateSymbolicLink(Path.Combine(scratch, Path.GetFileName(file)), file);
            }

            var fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "huginn-tiny");
            foreach (var name in new[] { HuginnTokenizer.TokenizerFileName, HuginnTokenizer.ConfigFileName })
            {
                File.CreateSymbolicLink(Path.Combine(scratch, name), Path.Combine(fixture, name));
            }

            Console.Error.WriteLine($"{path} has no {HuginnTokenizer.TokenizerFileName}: serving it with the tiny fixture's tokenizer (prompts are token ids).");
            path = scratch;
        }

        try
        {
            var clock = Stopwatch.StartNew();
            var engine = InferenceEngine.Load(new EngineOptions
            {
                ModelPath = path,
                ModelId = Path.GetFileName(Path.GetFullPath(folder)),
                Device = "cpu",
                DType = "float32",
                MaxBatch = maxBatch,
                MaxQueue = Math.Max(64, maxBatch),
                Threads = threads,
                CacheStrategy = "full",
                MeasureConvergence = measureConvergence,
            });
            return new BenchEngine(engine, Path.GetFullPath(folder), maxBatch, clock.Elapsed.TotalSeconds, scratch);
        }
        catch
        {
            DeleteScratch(scratch);
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Engine.Dispose();
        DeleteScratch(_scratch);
    }

    private static void DeleteScratch(string? scratch)
    {
        if (scratch is not null && Directory.Exists(scratch))
        {
            Directory.Delete(scratch, recursive: true); // removes the links, never their targets
        }
    }
}
