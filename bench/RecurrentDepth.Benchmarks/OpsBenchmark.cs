using System.Diagnostics;
using System.Globalization;
using RecurrentDepth.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Benchmarks;

/// <summary>
/// <c>ops</c>: tensor calls and time per core step (adapter + the core's sandwich blocks) of the tiny fixture model on
/// CPU, one torch thread, fp32, no cache, eager (<see cref="RavenModel.Iterate"/>) against TorchScript
/// (<see cref="ScriptedBlocks"/>), runs interleaved. Tensor calls are counted as the tensors TorchSharp creates (its dispose-scope
/// statistics: every op result is one, a chunk or unbind of n is n); per block = (per step − 2) / core layers, the 2
/// being the adapter's cat and linear (for TorchScript: the tensors C# sees, the script's own are not counted). Time: median of <c>--repeats</c> runs of <c>--steps</c> core steps each, per
/// step, after a warm-up run.
/// </summary>
public static class OpsBenchmark
{
    /// <summary>Runs it and prints a markdown table.</summary>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        int steps = Option(args, "--steps", 2000), repeats = Option(args, "--repeats", 5);
        torch.set_num_threads(1);
        string folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "huginn-tiny");
        using var model = RavenModel.Load(folder, new ModelLoadOptions { Device = "cpu", DType = "float32" });
        int layers = model.Config.NLayersInRecurrentBlock;
        Console.WriteLine($"ops benchmark: huginn-tiny core step ({layers} sandwich blocks + adapter), fp32 CPU, 1 torch thread, {steps} steps x {repeats} runs");
        Console.WriteLine();
        Console.WriteLine("| tokens in the call | form | C# tensor calls per core step | per block | µs per core step (median) | µs per block | time vs eager |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        model.UseTorchScript = false; // model.Iterate is the eager step here
        using var scripted = ScriptedBlocks.Compile(model);
        Func<Tensor, Tensor, int, AttentionContext, Tensor>[] forms = [model.Iterate, scripted.Iterate];
        string[] names = ["eager", "TorchScript"];
        foreach (int tokens in new[] { 1, 12 })
        {
            using var scope = NewDisposeScope();
            using var grad = no_grad();
            var ids = arange(tokens, ScalarType.Int64).unsqueeze(0) * 7 % model.Config.VocabSize;
            var context = model.CreateContext(arange(tokens, ScalarType.Int64));
            var embedded = model.RunPrelude(model.Embed(ids), context);
            using var generator = new Generator(1, CPU);
            var state = model.SampleInitialState(embedded, 1.0, generator);

            static long Created() => DisposeScopeManager.Statistics.CreatedInScopeCount + DisposeScopeManager.Statistics.CreatedOutsideScopeCount;
            var counts = new long[forms.Length];
            var times = forms.Select(_ => new List<double>()).ToArray();
            for (int f = 0; f < forms.Length; f++)
            {
                Step(forms[f], state, embedded, context); // warm-up (the script's first call also optimises its graph)
                long before = Created();
                Step(forms[f], state, embedded, context);
                counts[f] = Created() - before;
            }

            // Runs alternate between the forms, so that background load hits both alike.
            for (int run = -1; run < repeats; run++)
            {
                for (int f = 0; f < forms.Length; f++)
                {
                    long start = Stopwatch.GetTimestamp();
                    for (int i = 0; i < steps; i++)
                    {
                        Step(forms[f], state, embedded, context);
                    }

                    if (run >= 0)
                    {
                        times[f].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / steps);
                    }
                }
            }

            var medians = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
            for (int f = 0; f < forms.Length; f++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {tokens} | {names[f]} | {counts[f]} | {(counts[f] - 2) / (double)layers:F1} | {medians[f]:F1} | {medians[f] / layers:F1} | {medians[f] / medians[0]:F2}x |"));
            }
        }

        DecodeTable(model, repeats);
        return 0;
    }

    // Batch-1 greedy decode through the decoder, the same model with its core step eager and scripted, interleaved.
    private static void DecodeTable(RavenModel model, int repeats)
    {
        const int tokens = 32;
        Console.WriteLine();
        Console.WriteLine($"| decode (batch 1, prompt 12, {tokens} tokens, full cache) | core step | ms per token (median) | vs eager |");
        Console.WriteLine("|---|---|---|---|");
        foreach (int depth in new[] { 8, 32 })
        {
            var times = new[] { new List<double>(), new List<double>() };
            for (int run = -1; run < repeats; run++)
            {
                for (int f = 0; f < 2; f++)
                {
                    model.UseTorchScript = f == 1;
                    using var decoder = new Generation.RecurrentDecoder(model);
                    decoder.Add(new Generation.SequenceOptions
                    {
                        Prompt = Enumerable.Range(0, 12).Select(i => (i * 31 + 5) % model.Config.VocabSize).ToArray(),
                        Depth = Generation.DepthPolicy.Fixed(depth),
                        MaxNewTokens = tokens,
                    });
                    long start = Stopwatch.GetTimestamp();
                    decoder.RunToCompletion();
                    if (run >= 0)
                    {
                        times[f].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds / tokens);
                    }
                }
            }

            var medians = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| fixed {depth} | eager | {medians[0]:F2} | 1.00x |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| fixed {depth} | TorchScript | {medians[1]:F2} | {medians[1] / medians[0]:F2}x |"));
        }

        model.UseTorchScript = false;
    }

    private static void Step(Func<Tensor, Tensor, int, AttentionContext, Tensor> iterate, Tensor state, Tensor embedded, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        iterate(state, embedded, 0, context);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
