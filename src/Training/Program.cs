using System.Globalization;
using RecurrentDepth.Training;
using Spectre.Console;
using TorchSharp;

// RecurrentDepth.Training: train | eval (alias bench). See CommandLine.Usage.
return CommandLine.Run(args);

namespace RecurrentDepth.Training
{
    /// <summary>The command-line entry of the trainer.</summary>
    public static class CommandLine
    {
        /// <summary>Usage text.</summary>
        public const string Usage = """
            RecurrentDepth.Training train [--out DIR] [--steps N] [--minutes M] [--seed S] [--d-model D] [--heads H]
                                          [--layers P/C/C] [--mean-depth R] [--backprop-depth K] [--lr LR] [--batch B]
                                          [--max-k K] [--checkpoint-minutes M] [--threads T] [--format latent|cot]
                                          [--fixed-depth R] [--tokenizer DIR]
              (--tokenizer: train with the tokenizer files of a checkpoint folder; default the micro vocabulary,
               the same bytes as models/huginn-micro-arith ships)
            RecurrentDepth.Training train --resume DIR [--out DIR] [--steps N] [--minutes M]   (other settings come from DIR)
            RecurrentDepth.Training eval  [--model DIR] [--docs DIR] [--count N] [--threshold 5e-4] [--cap 32] [--threads T]
              (alias: bench) accuracy per difficulty for r = 1,2,4,8,16,32 and adaptive KL exit; writes effort.md and effort-curve.png
            RecurrentDepth.Training compare [--model DIR] [--cot DIR] [--count N] [--docs DIR] [--threads T]
              latent recurrence vs chain of thought through the inference engine; writes latent-vs-cot.md and latent-vs-cot.png
            RecurrentDepth.Training extrapolate [--model DIR] [--count N] [--threads T]
              accuracy on the never-trained difficulties 9-12 for r = 1..64 and adaptive KL exit (cap 64); prints the table
            """;

        /// <summary>Runs a command; returns the process exit code.</summary>
        public static int Run(string[] args)
        {
            ArgumentNullException.ThrowIfNull(args);
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 1 : 0;
            }

            var options = ParseOptions(args.Skip(1).ToArray());
            torch.set_num_threads(int.Parse(options.GetValueOrDefault("threads", "1"), CultureInfo.InvariantCulture));
            switch (args[0])
            {
                case "train":
                    return Train(options);
                case "eval" or "bench":
                    return Evaluate(options);
                case "compare":
                    return Compare(options);
                case "extrapolate":
                    return Extrapolate(options);
                default:
                    Console.Error.WriteLine($"Unknown command '{args[0]}'.\n{Usage}");
                    return 1;
            }
        }

        private static Dictionary<string, string> ParseOptions(string[] args)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"Expected '--name value' pairs; '{args[i]}' has no value.", nameof(args));
                }

                result[args[i][2..]] = args[++i];
            }

            return result;
        }

        /// <summary>Builds trainer options from parsed <c>--name value</c> pairs.</summary>
        public static TrainerOptions ToTrainerOptions(IReadOnlyDictionary<string, string> o)
        {
            ArgumentNullException.ThrowIfNull(o);
            var d = new TrainerOptions();
            int I(string k, int v) => o.TryGetValue(k, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : v;
            double D(string k, double v) => o.TryGetValue(k, out var s) ? double.Parse(s, CultureInfo.InvariantCulture) : v;
            var layers = o.TryGetValue("layers", out var l) ? l.Split('/').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() : [1, 1, 1];
            if (layers.Length != 3)
            {
                throw new ArgumentException($"--layers must be prelude/core/coda, e.g. 1/1/1; got '{l}'.", nameof(o));
            }

            return d with
            {
                Out = o.GetValueOrDefault("out", d.Out),
                Steps = I("steps", d.Steps),
                Minutes = o.ContainsKey("minutes") ? D("minutes", 0) : null,
                Seed = I("seed", d.Seed),
                DModel = I("d-model", d.DModel),
                Heads = I("heads", d.Heads),
                Layers = (layers[0], layers[1], layers[2]),
                MeanDepth = I("mean-depth", d.MeanDepth),
                BackpropDepth = I("backprop-depth", d.BackpropDepth),
                Lr = D("lr", d.Lr),
                Batch = I("batch", d.Batch),
                MaxDifficulty = I("max-k", d.MaxDifficulty),
                CheckpointMinutes = D("checkpoint-minutes", d.CheckpointMinutes),
                Format = o.GetValueOrDefault("format", "latent") switch
                {
                    "latent" => AnswerFormat.Latent,
                    "cot" => AnswerFormat.ChainOfThought,
                    var other => throw new ArgumentException($"--format must be latent or cot; got '{other}'.", nameof(o)),
                },
                FixedDepth = o.ContainsKey("fixed-depth") ? I("fixed-depth", 1) : null,
            };
        }

        private static int Train(Dictionary<string, string> o)
        {
            var options = ToTrainerOptions(o);
            using var trainer = o.TryGetValue("resume", out var resume)
                ? Trainer.Resume(resume, o.ContainsKey("steps") ? options.Steps : null, options.Minutes, o.GetValueOrDefault("out"))
                : o.TryGetValue("tokenizer", out var tokenizer) ? Trainer.Create(options, TaskTokenizer.Load(tokenizer)) : Trainer.Create(options);
            Console.WriteLine($"Training {trainer.Model.parameters().Sum(p => p.NumberOfElements):N0} parameters, options:\n{trainer.Options.ToJson()}");
            Console.WriteLine($"Starting at step {trainer.Step} of {trainer.Options.Steps}.");
            if (AnsiConsole.Profile.Capabilities.Interactive)
            {
                AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("training", maxValue: trainer.Options.Steps);
                        task.Value = trainer.Step;
                        trainer.Run(new InlineProgress(p =>
                        {
                            task.Value = p.Step;
                            task.Description = Markup.Escape(Describe(p));
                        }));
                    });
            }
            else
            {
                int startStep = trainer.Step;
                trainer.Run(new InlineProgress(p =>
                {
                    if (p.Step % 25 == 0 || p.Step == p.TotalSteps)
                    {
                        double perStep = p.Elapsed.TotalSeconds / Math.Max(1, p.Step - startStep);
                        var eta = TimeSpan.FromSeconds(perStep * (p.TotalSteps - p.Step));
                        Console.WriteLine($"{DateTime.Now:HH:mm:ss} {Describe(p)} elapsed {p.Elapsed:hh\\:mm\\:ss} eta {eta:hh\\:mm\\:ss}");
                    }
                }));
            }

            Console.WriteLine($"Checkpoint written to {Path.GetFullPath(trainer.Options.Out)} at step {trainer.Step}.");
            return 0;
        }

        private static string Describe(TrainingProgress p) =>
            string.Create(CultureInfo.InvariantCulture,
                $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} (avg {p.SmoothedLoss:F4}) ans-acc {p.AnswerAccuracy:P1} lr {p.LearningRate:E2} r {p.Recurrence} {p.TokensPerSecond:F0} tok/s");

        private static int Evaluate(Dictionary<string, string> o)
        {
            var folder = o.GetValueOrDefault("model", "models/huginn-micro-arith");
            var docs = o.GetValueOrDefault("docs", "docs");
            int count = int.Parse(o.GetValueOrDefault("count", ArithmeticTask.HeldOutPerDifficulty.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
            double threshold = double.Parse(o.GetValueOrDefault("threshold", "5e-4"), CultureInfo.InvariantCulture);
            int cap = int.Parse(o.GetValueOrDefault("cap", "32"), CultureInfo.InvariantCulture);
            using var model = Modeling.RavenModel.Load(folder, new Modeling.ModelLoadOptions { Device = "cpu", DType = "float32" });
            var report = EffortEvaluator.Evaluate(model, TaskTokenizer.Load(folder), ArithmeticTask.HeldOutDifficulties, count, EffortEvaluator.FixedSteps, threshold, cap);
            var table = report.ToMarkdown();
            Console.WriteLine(table);
            Directory.CreateDirectory(docs);
            var document = Path.Combine(docs, "effort.md");
            string kept = "";
            if (File.Exists(document) && File.ReadAllText(document) is var existing && existing.IndexOf(EffortReport.KeptSectionsMarker, StringComparison.Ordinal) is int cut and >= 0)
            {
                kept = existing[(cut + EffortReport.KeptSectionsMarker.Length)..];
            }

            File.WriteAllText(document, report.ToDocument(folder) + kept);
            File.WriteAllBytes(Path.Combine(docs, "effort-curve.png"), EffortPlot.Render(report));
            Console.WriteLine($"Wrote {Path.Combine(docs, "effort.md")} and {Path.Combine(docs, "effort-curve.png")}.");
            return 0;
        }

        private static int Extrapolate(Dictionary<string, string> o)
        {
            var folder = o.GetValueOrDefault("model", "models/huginn-micro-arith");
            int count = int.Parse(o.GetValueOrDefault("count", "500"), CultureInfo.InvariantCulture);
            using var model = Modeling.RavenModel.Load(folder, new Modeling.ModelLoadOptions { Device = "cpu", DType = "float32" });
            var report = EffortEvaluator.Evaluate(model, TaskTokenizer.Load(folder), [9, 10, 11, 12], count, [1, 2, 4, 8, 16, 32, 64], 5e-4, 64);
            Console.WriteLine(report.ToMarkdown());
            return 0;
        }

        private static int Compare(Dictionary<string, string> o)
        {
            var latent = o.GetValueOrDefault("model", "models/huginn-micro-arith");
            var cot = o.GetValueOrDefault("cot", "models/huginn-micro-arith-cot");
            var docs = o.GetValueOrDefault("docs", "docs");
            int count = int.Parse(o.GetValueOrDefault("count", "100"), CultureInfo.InvariantCulture);
            int threads = int.Parse(o.GetValueOrDefault("threads", "1"), CultureInfo.InvariantCulture);
            var results = LatentVsCotComparison.RunAsync(LatentVsCotComparison.Modes(latent, cot), count, threads).GetAwaiter().GetResult();
            var table = LatentVsCotComparison.ToMarkdown(results);
            Console.WriteLine(table);
            Directory.CreateDirectory(docs);
            File.WriteAllText(Path.Combine(docs, "latent-vs-cot.md"), table);
            File.WriteAllBytes(Path.Combine(docs, "latent-vs-cot.png"), LatentVsCotPlot.Render(results));
            Console.WriteLine($"Wrote {Path.Combine(docs, "latent-vs-cot.md")} and {Path.Combine(docs, "latent-vs-cot.png")}.");
            return 0;
        }

        private sealed class InlineProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
        {
            public void Report(TrainingProgress value) => report(value);
        }
    }
}
