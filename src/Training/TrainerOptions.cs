using System.Text.Json;

namespace RecurrentDepth.Training;

/// <summary>Settings of a training run; every field has the micro model's default.</summary>
public sealed record TrainerOptions
{
    /// <summary>Output folder: the checkpoint (huginn HF layout) and <c>trainer_state/</c> for resuming.</summary>
    public string Out { get; init; } = "models/huginn-micro-arith";

    /// <summary>Optimizer steps of the schedule (warm-up + cosine decay are laid out over these). Default 6000.</summary>
    public int Steps { get; init; } = 6000;

    /// <summary>Stop early after this many minutes of training (a checkpoint is written); null = no limit.</summary>
    public double? Minutes { get; init; }

    /// <summary>Seed of the initialisation, the problem stream, the depth draws and the initial states. Default 2.</summary>
    public int Seed { get; init; } = 2;

    /// <summary>Width n_embd. Default 96.</summary>
    public int DModel { get; init; } = 96;

    /// <summary>Attention heads. Default 4.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Layers in prelude, recurrent core and coda. Default 1/1/1.</summary>
    public (int Prelude, int Core, int Coda) Layers { get; init; } = (1, 1, 1);

    /// <summary>SwiGLU inner width; default 8/3 · d_model rounded to a multiple of 32.</summary>
    public int? Intermediate { get; init; }

    /// <summary>Mean recurrence of the log-normal Poisson draw (config mean_recurrence). Default 8.</summary>
    public int MeanDepth { get; init; } = 8;

    /// <summary>Truncated backprop: gradient flows through the last k iterations only (config mean_backprop_depth). Default 4.</summary>
    public int BackpropDepth { get; init; } = 4;

    /// <summary>Peak learning rate. Default 2e-3.</summary>
    public double Lr { get; init; } = 2e-3;

    /// <summary>Fraction of the steps spent in linear warm-up. Default 0.03.</summary>
    public double WarmupFraction { get; init; } = 0.03;

    /// <summary>AdamW weight decay (matrices and embedding; not norms or qk_bias). Default 0.1.</summary>
    public double WeightDecay { get; init; } = 0.1;

    /// <summary>AdamW β₂. Default 0.95.</summary>
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Gradient clipping (global L2 norm). Default 1.</summary>
    public double Clip { get; init; } = 1.0;

    /// <summary>Problems per optimizer step. Default 64.</summary>
    public int Batch { get; init; } = 64;

    /// <summary>Hardest difficulty trained; problems are drawn uniformly from k = 1..this. Default 6.</summary>
    public int MaxDifficulty { get; init; } = 6;

    /// <summary>How answers are taught: latent (default; the micro model) or chain of thought in tokens.</summary>
    public AnswerFormat Format { get; init; } = AnswerFormat.Latent;

    /// <summary>Train at exactly this recurrence count instead of the Poisson draw (e.g. 1: a non-recurrent baseline); null = draw.</summary>
    public int? FixedDepth { get; init; }

    /// <summary>Minutes between checkpoints. Default 3.</summary>
    public double CheckpointMinutes { get; init; } = 3;

    /// <summary>Width of the SwiGLU MLP actually used.</summary>
    public int IntermediateSize => Intermediate ?? (int)Math.Round(DModel * 8.0 / 3.0 / 32.0) * 32;

    /// <summary>Serialises the options (written next to each checkpoint).</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["out"] = Out, ["steps"] = Steps, ["minutes"] = Minutes, ["seed"] = Seed, ["d_model"] = DModel, ["heads"] = Heads,
        ["layers"] = $"{Layers.Prelude}/{Layers.Core}/{Layers.Coda}", ["intermediate"] = IntermediateSize,
        ["mean_depth"] = MeanDepth, ["backprop_depth"] = BackpropDepth, ["lr"] = Lr, ["warmup_fraction"] = WarmupFraction,
        ["weight_decay"] = WeightDecay, ["beta2"] = Beta2, ["clip"] = Clip, ["batch"] = Batch, ["max_difficulty"] = MaxDifficulty,
        ["checkpoint_minutes"] = CheckpointMinutes, ["format"] = Format == AnswerFormat.ChainOfThought ? "cot" : "latent",
        ["fixed_depth"] = FixedDepth,
    }, JsonDefaults.Indented);

    /// <summary>Reads options written by <see cref="ToJson"/>.</summary>
    public static TrainerOptions FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        var layers = r.GetProperty("layers").GetString()!.Split('/').Select(int.Parse).ToArray();
        return new TrainerOptions
        {
            Out = r.GetProperty("out").GetString()!,
            Steps = r.GetProperty("steps").GetInt32(),
            Minutes = r.GetProperty("minutes").ValueKind == JsonValueKind.Null ? null : r.GetProperty("minutes").GetDouble(),
            Seed = r.GetProperty("seed").GetInt32(),
            DModel = r.GetProperty("d_model").GetInt32(),
            Heads = r.GetProperty("heads").GetInt32(),
            Layers = (layers[0], layers[1], layers[2]),
            Intermediate = r.GetProperty("intermediate").GetInt32(),
            MeanDepth = r.GetProperty("mean_depth").GetInt32(),
            BackpropDepth = r.GetProperty("backprop_depth").GetInt32(),
            Lr = r.GetProperty("lr").GetDouble(),
            WarmupFraction = r.GetProperty("warmup_fraction").GetDouble(),
            WeightDecay = r.GetProperty("weight_decay").GetDouble(),
            Beta2 = r.GetProperty("beta2").GetDouble(),
            Clip = r.GetProperty("clip").GetDouble(),
            Batch = r.GetProperty("batch").GetInt32(),
            MaxDifficulty = r.GetProperty("max_difficulty").GetInt32(),
            CheckpointMinutes = r.GetProperty("checkpoint_minutes").GetDouble(),
            // Absent in options written before these settings existed.
            Format = r.TryGetProperty("format", out var f) && f.GetString() == "cot" ? AnswerFormat.ChainOfThought : AnswerFormat.Latent,
            FixedDepth = r.TryGetProperty("fixed_depth", out var fd) && fd.ValueKind == JsonValueKind.Number ? fd.GetInt32() : null,
        };
    }
}
