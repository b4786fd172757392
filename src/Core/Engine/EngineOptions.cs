using RecurrentDepth.Caching;

namespace RecurrentDepth.Engine;

/// <summary>Settings of the model core: what to load, where, and how many requests to serve at once.</summary>
public sealed record EngineOptions
{
    /// <summary>Checkpoint folder (config.json, safetensors, tokenizer.json). Required.</summary>
    public string ModelPath { get; init; } = "";

    /// <summary>Model id reported to callers; default: the folder name.</summary>
    public string? ModelId { get; init; }

    /// <summary>"auto" (default: CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>"auto" (default: bf16 on CUDA, fp32 on CPU), "float32", "bfloat16" or "float16".</summary>
    public string DType { get; init; } = "auto";

    /// <summary>Most sequences decoded together. Default 8.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>Most requests waiting for admission; one more is rejected at once. Default 64.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Context limit in tokens (prompt + generated); 0 (default) uses the model's block_size.</summary>
    public int MaxContext { get; init; }

    /// <summary>KV-cache strategy for requests that do not choose one. Default <c>latest-m4</c> (safe with early exit).</summary>
    public string CacheStrategy { get; init; } = "latest-m4";

    /// <summary>Torch intra-op threads on CPU; 0 (default) leaves libtorch's choice.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Checks every field's form; throws <see cref="ArgumentException"/> naming the option. Whether the device is
    /// present is checked when the model loads (this method touches no native library).
    /// </summary>
    public EngineOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath))
        {
            throw new ArgumentException("RecurrentDepth:ModelPath is required: the folder of a Huginn checkpoint (config.json, model.safetensors, tokenizer.json).", nameof(ModelPath));
        }

        if (MaxBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatch), MaxBatch, "RecurrentDepth:MaxBatch must be at least 1.");
        }

        if (MaxQueue < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueue), MaxQueue, "RecurrentDepth:MaxQueue must be at least 1.");
        }

        if (MaxContext < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxContext), MaxContext, "RecurrentDepth:MaxContext must be ≥ 0 (0 = the model's block_size).");
        }

        if (Threads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "RecurrentDepth:Threads must be ≥ 0 (0 = libtorch default).");
        }

        _ = Caching.CacheStrategy.Parse(CacheStrategy, "RecurrentDepth:CacheStrategy");
        if (!Devices.ComputeDevice.IsValidSpec(Device))
        {
            throw new ArgumentException($"RecurrentDepth:Device '{Device}' is not valid; expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\".", nameof(Device));
        }

        if (!Devices.ComputeDevice.IsValidDType(DType))
        {
            throw new ArgumentException($"RecurrentDepth:DType '{DType}' is not valid; expected \"auto\", \"float32\", \"bfloat16\" or \"float16\".", nameof(DType));
        }
        return this;
    }
}
