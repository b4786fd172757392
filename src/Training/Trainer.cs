using System.Diagnostics;
using System.Text.Json;
using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RecurrentDepth.Training;

/// <summary>Progress of a training run, reported after every optimizer step.</summary>
/// <param name="Step">Steps done (1-based).</param>
/// <param name="TotalSteps">Steps in the schedule.</param>
/// <param name="Loss">Loss of this step.</param>
/// <param name="SmoothedLoss">Exponential moving average of the loss.</param>
/// <param name="AnswerAccuracy">Moving average of the answer accuracy on training batches (mixed r).</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="Recurrence">Recurrence count r drawn for this step.</param>
/// <param name="TokensPerSecond">Training tokens per second over this session.</param>
/// <param name="Elapsed">Wall time of this session.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double SmoothedLoss, double AnswerAccuracy, double LearningRate,
    int Recurrence, double TokensPerSecond, TimeSpan Elapsed);

/// <summary>
/// Trains a <see cref="RavenModel"/> on the running-arithmetic task in the paper's recipe: per-step recurrence
/// r = Poisson(λ)+1 with log-normal λ, truncated backprop through the last k iterations, a fresh random initial
/// state, AdamW with linear warm-up and cosine decay, and gradient clipping. Everything random is derived from the
/// seed and the step index, so a run is deterministic and a resumed run continues the same stream.
/// </summary>
public sealed class Trainer : IDisposable
{
    private const string StateFolder = "trainer_state";
    private readonly RavenModel model;
    private readonly TaskTokenizer tokenizer;
    private readonly AdamW optimizer;
    private readonly List<Parameter> parameters;
    private double smoothedLoss = double.NaN;
    private double smoothedAccuracy;

    private Trainer(TrainerOptions options, RavenModel model, TaskTokenizer tokenizer, int step)
    {
        Options = options;
        this.model = model;
        this.tokenizer = tokenizer;
        // Eager core step: gradients through TorchScript's optimised graph differ in the last bit from its first,
        // unoptimised calls, so a resumed run would not continue exactly like an uninterrupted one.
        model.UseTorchScript = false;
        Step = step;
        parameters = model.parameters().ToList();
        var named = model.ParametersByKey();
        var decay = named.Where(kv => kv.Value.dim() >= 2).Select(kv => kv.Value).ToList();
        var noDecay = named.Where(kv => kv.Value.dim() < 2).Select(kv => kv.Value).ToList();
        optimizer = optim.AdamW(
        [
            new AdamW.ParamGroup(decay, options.Lr, 0.9, options.Beta2, 1e-8, options.WeightDecay, false, false),
            new AdamW.ParamGroup(noDecay, options.Lr, 0.9, options.Beta2, 1e-8, 0.0, false, false),
        ], options.Lr, 0.9, options.Beta2, 1e-8, options.WeightDecay);
    }

    /// <summary>The run's settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The model being trained (fp32, CPU).</summary>
    public RavenModel Model => model;

    /// <summary>The tokenizer the run encodes with; its files go into every checkpoint.</summary>
    public TaskTokenizer Tokenizer => tokenizer;

    /// <summary>Optimizer steps done so far.</summary>
    public int Step { get; private set; }

    /// <summary>The architecture a run with <paramref name="options"/> trains, for a tokenizer of <paramref name="vocabSize"/> ids.</summary>
    public static RavenConfig ConfigFor(TrainerOptions options, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new RavenConfig
        {
            NEmbd = options.DModel,
            NHeads = options.Heads,
            NumKeyValueHeads = options.Heads,
            NLayersInPrelude = options.Layers.Prelude,
            NLayersInRecurrentBlock = options.Layers.Core,
            NLayersInCoda = options.Layers.Coda,
            IntermediateSize = options.IntermediateSize,
            VocabSize = vocabSize,
            BlockSize = 1024,
            // A fixed-depth run's default step count is the depth it was trained at.
            MeanRecurrence = options.FixedDepth ?? options.MeanDepth,
            MeanBackpropDepth = options.FixedDepth is int fixedDepth ? Math.Min(fixedDepth, options.BackpropDepth) : options.BackpropDepth,
        }.Validate("trainer options");
    }

    /// <summary>Starts a run from the reference initialisation drawn from the seed, with the micro vocabulary (<see cref="MicroVocabulary"/>).</summary>
    public static Trainer Create(TrainerOptions options) => Create(options, MicroVocabulary.CreateTokenizer());

    /// <summary>Starts a run from the reference initialisation drawn from the seed, encoding with <paramref name="tokenizer"/>.</summary>
    public static Trainer Create(TrainerOptions options, TaskTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var model = new RavenModel(ConfigFor(options, tokenizer.VocabSize), ScalarType.Float32, CPU);
        using var generator = new Generator((ulong)options.Seed, CPU);
        ModelInitializer.Initialize(model, generator);
        return new Trainer(options, model, tokenizer, 0);
    }

    /// <summary>
    /// Resumes from a folder written by <see cref="SaveCheckpoint"/>: weights through the normal loader, optimizer
    /// moments and step from <c>trainer_state/</c>, the tokenizer from the folder's tokenizer files. The saved options
    /// apply, except the step budget, time limit and output folder when given; the output folder defaults to
    /// <paramref name="folder"/> itself.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder has no trainer state.</exception>
    public static Trainer Resume(string folder, int? steps = null, double? minutes = null, string? output = null)
    {
        var stateDir = Path.Combine(folder, StateFolder);
        var optionsPath = Path.Combine(stateDir, "options.json");
        if (!File.Exists(optionsPath))
        {
            throw new FileNotFoundException($"Cannot resume from '{folder}': it has no {StateFolder}/options.json (was it written by the trainer?).", optionsPath);
        }

        var options = TrainerOptions.FromJson(File.ReadAllText(optionsPath));
        options = options with { Steps = steps ?? options.Steps, Minutes = minutes, Out = output ?? folder };

        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(stateDir, "state.json")));
        int step = state.RootElement.GetProperty("step").GetInt32();
        var model = RavenModel.Load(folder, new ModelLoadOptions { Device = "cpu", DType = "float32" });
        foreach (var p in model.parameters())
        {
            p.requires_grad = true;
        }

        var trainer = new Trainer(options, model, TaskTokenizer.Load(folder), step);
        trainer.optimizer.load_state_dict(Path.Combine(stateDir, "optimizer.bin"));
        trainer.smoothedLoss = state.RootElement.GetProperty("smoothed_loss").GetDouble();
        trainer.smoothedAccuracy = state.RootElement.GetProperty("smoothed_accuracy").GetDouble();
        return trainer;
    }

    /// <summary>Learning rate at 0-based step <paramref name="step"/>: linear warm-up, then cosine decay to 0.</summary>
    public double LearningRateAt(int step)
    {
        int warmup = Math.Max(1, (int)Math.Round(Options.WarmupFraction * Options.Steps));
        if (step < warmup)
        {
            return Options.Lr * (step + 1) / warmup;
        }

        double t = Math.Min(1.0, (double)(step - warmup) / Math.Max(1, Options.Steps - warmup));
        return Options.Lr * 0.5 * (1 + Math.Cos(Math.PI * t));
    }

    /// <summary>Runs one optimizer step (the next one of the schedule) and returns its loss.</summary>
    public (double Loss, double AnswerAccuracy, int Recurrence, long Tokens) TrainStep()
    {
        // Every random draw of step n comes from (seed, n): resuming at step n replays exactly the same stream.
        var random = new Random(unchecked(Options.Seed * 1_000_003 + Step * 7_919 + 17));
        using var generator = new Generator(unchecked((ulong)Options.Seed * 0x9E3779B97F4A7C15UL + (ulong)Step + 1), CPU);
        using var batch = TrainingBatch.Sample(random, tokenizer, Options.Batch, Options.MaxDifficulty, Options.Format);
        int drawn = DepthSampler.Sample(random, Options.MeanDepth); // drawn even when fixed, so the stream stays the same
        int r = Options.FixedDepth ?? drawn;
        var (noGrad, withGrad) = DepthSampler.Split(r, Options.BackpropDepth);

        double lr = LearningRateAt(Step);
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = lr;
        }

        using var scope = NewDisposeScope();
        var logits = Forward(batch.Ids, noGrad, withGrad, generator);
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Labels.view(-1), ignore_index: ArithmeticTask.IgnoreLabel);
        optimizer.zero_grad();
        loss.backward();
        nn.utils.clip_grad_norm_(parameters, Options.Clip);
        optimizer.step();
        Step++;

        double accuracy = AnswerAccuracy(logits, batch);
        double value = loss.item<float>();
        smoothedLoss = double.IsNaN(smoothedLoss) ? value : 0.98 * smoothedLoss + 0.02 * value;
        smoothedAccuracy = Step == 1 ? accuracy : 0.98 * smoothedAccuracy + 0.02 * accuracy;
        return (value, accuracy, r, batch.Tokens);
    }

    /// <summary>Forward pass with truncated backprop: <paramref name="noGrad"/> iterations without gradient, then <paramref name="withGrad"/> with.</summary>
    internal Tensor Forward(Tensor ids, int noGrad, int withGrad, Generator generator)
    {
        using var scope = NewDisposeScope();
        var context = model.CreateContext(arange(ids.shape[1], ScalarType.Int64));
        var embedded = model.RunPrelude(model.Embed(ids), context);
        var state = model.SampleInitialState(embedded, 1.0, generator);
        if (noGrad > 0)
        {
            using (no_grad())
            {
                state = model.Recur(state, embedded, context, noGrad);
            }

            state = state.detach();
        }

        state = model.Recur(state, embedded, context, withGrad, firstRecurrence: noGrad);

        return model.Readout(model.NormalizeLatent(state), context).MoveToOuterDisposeScope();
    }

    private double AnswerAccuracy(Tensor logits, TrainingBatch batch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var rows = arange(batch.Problems.Count, ScalarType.Int64);
        var positions = tensor(batch.AnswerPositions.ToArray());
        var predicted = logits.detach()[rows, positions].argmax(-1);
        var expected = tensor(batch.Problems.Select(p => (long)tokenizer.DigitId(p.Answer)).ToArray());
        return predicted.eq(expected).to(ScalarType.Float32).mean().item<float>();
    }

    /// <summary>
    /// Trains until the schedule ends or <see cref="TrainerOptions.Minutes"/> pass, writing a checkpoint every
    /// <see cref="TrainerOptions.CheckpointMinutes"/> and at the end. Returns the number of steps done this session.
    /// </summary>
    public int Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var lastCheckpoint = TimeSpan.Zero;
        long tokens = 0;
        int done = 0;
        while (Step < Options.Steps && !cancellationToken.IsCancellationRequested)
        {
            if (Options.Minutes is double limit && clock.Elapsed.TotalMinutes >= limit)
            {
                break;
            }

            double lr = LearningRateAt(Step);
            var (loss, _, r, batchTokens) = TrainStep();
            tokens += batchTokens;
            done++;
            progress?.Report(new TrainingProgress(Step, Options.Steps, loss, smoothedLoss, smoothedAccuracy, lr, r,
                tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds), clock.Elapsed));
            if ((clock.Elapsed - lastCheckpoint).TotalMinutes >= Options.CheckpointMinutes)
            {
                SaveCheckpoint(Options.Out);
                lastCheckpoint = clock.Elapsed;
            }
        }

        SaveCheckpoint(Options.Out);
        return done;
    }

    /// <summary>Writes the model (huginn HF layout) and the trainer state needed to resume into <paramref name="folder"/>.</summary>
    public void SaveCheckpoint(string folder)
    {
        CheckpointWriter.Write(model, tokenizer, folder, new Dictionary<string, string>
        {
            ["step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["seed"] = Options.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var stateDir = Path.Combine(folder, StateFolder);
        Directory.CreateDirectory(stateDir);
        File.WriteAllText(Path.Combine(stateDir, "options.json"), Options.ToJson());
        optimizer.save_state_dict(Path.Combine(stateDir, "optimizer.bin"));
        File.WriteAllText(Path.Combine(stateDir, "state.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["step"] = Step,
            ["smoothed_loss"] = double.IsNaN(smoothedLoss) ? 0.0 : smoothedLoss,
            ["smoothed_accuracy"] = smoothedAccuracy,
        }));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
    }
}
