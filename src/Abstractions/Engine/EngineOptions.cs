using RecurrentDepth.Caching;

namespace RecurrentDepth.Engine;

/// <summary>
/// Settings of the model core: what to load, where, and how many requests to serve at once. Bound from the
/// configuration section <c>RecurrentDepth</c> (<see cref="SectionName"/>) by <c>AddRecurrentDepthModel</c>;
/// validated once, by <see cref="Validate"/>, when the host starts. Error messages name the option.
/// </summary>
public sealed record EngineOptions
{
    /// <summary>The configuration section the options are read from: <c>RecurrentDepth</c>.</summary>
    public const string SectionName = "RecurrentDepth";

    /// <summary>Checkpoint folder (config.json, safetensors, tokenizer.json). Required.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Model id reported to callers; default: the folder name.</summary>
    public string? ModelId { get; set; }

    /// <summary>"auto" (default: CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>"auto" (default: bf16 on CUDA, fp32 on CPU), "float32", "bfloat16" or "float16".</summary>
    public string DType { get; set; } = "auto";

    /// <summary>Most sequences decoded together. Default 8.</summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>Most requests waiting for admission; one more is rejected at once. Default 64.</summary>
    public int MaxQueue { get; set; } = 64;

    /// <summary>Context limit in tokens (prompt + generated); 0 (default) uses the model's block_size.</summary>
    public int MaxContext { get; set; }

    /// <summary>KV-cache strategy for requests that do not choose one. Default <c>latest-m4</c> (safe with early exit).</summary>
    public string CacheStrategy { get; set; } = "latest-m4";

    /// <summary>
    /// Measure how settled fixed-depth tokens are: each token also reads out its second-to-last recurrence step and
    /// reports the KL between the last two steps' next-token distributions as <c>GeneratedToken.ExitValue</c> (one
    /// extra row in each token's readout call, the second-to-last step read out beside the last; early-exit requests report
    /// their criterion's value at no extra cost). Default true.
    /// </summary>
    public bool MeasureConvergence { get; set; } = true;

    /// <summary>
    /// Check every weight for NaN and infinity as it loads (after conversion to the compute dtype, so an fp32 value
    /// that overflows fp16 counts too); a tensor with any fails the load with an <see cref="InvalidDataException"/>
    /// naming the tensor and its file. One extra read of each tensor in memory; default true, since a checkpoint with
    /// one NaN otherwise loads and every request then "succeeds" with garbage.
    /// </summary>
    public bool CheckWeights { get; set; } = true;

    /// <summary>Torch intra-op threads on CPU; 0 (default) leaves libtorch's choice.</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Keep the key/value cache (every recurrence slot) of finished conversations and reuse it when a new prompt
    /// starts with a whole earlier conversation (an agent's next turn), so only the new tokens are prefilled.
    /// Default true; false disables the prefix cache.
    /// </summary>
    public bool PrefixCacheEnabled { get; set; } = true;

    /// <summary>Most bytes the prefix cache of finished conversations may hold (least recently used dropped first). Default 256 MiB.</summary>
    public long PrefixCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Key/value bytes the running sequences may reserve together; 0 (default) means no limit. A request is admitted
    /// only when its worst case (prompt plus max_tokens positions at its step cap) fits next to the running ones; it
    /// waits in the queue otherwise, and one that could never fit is rejected at submission.
    /// </summary>
    public long KvCacheBudgetBytes { get; set; }

    /// <summary>
    /// Checks every field's form; throws <see cref="ArgumentException"/> naming the option. Whether the device is
    /// present is checked when the model loads (this method touches no native library).
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid; <see cref="ArgumentException.ParamName"/> is its name.</exception>
    public EngineOptions Validate()
    {
        foreach (var (option, message) in Problems())
        {
            throw new ArgumentException(message, option);
        }

        return this;
    }

    /// <summary>Every invalid option with a message naming it (empty when all are valid). <see cref="Validate"/> throws the first.</summary>
    public IEnumerable<(string Option, string Message)> Problems()
    {
        const string S = SectionName;
        if (string.IsNullOrWhiteSpace(ModelPath))
        {
            yield return (nameof(ModelPath), $"{S}:ModelPath is required: the folder of a Huginn checkpoint (config.json, model.safetensors, tokenizer.json).");
        }

        if (MaxBatch < 1)
        {
            yield return (nameof(MaxBatch), $"{S}:MaxBatch must be at least 1 (got {MaxBatch}).");
        }

        if (MaxQueue < 1)
        {
            yield return (nameof(MaxQueue), $"{S}:MaxQueue must be at least 1 (got {MaxQueue}).");
        }

        if (MaxContext < 0)
        {
            yield return (nameof(MaxContext), $"{S}:MaxContext must be ≥ 0, 0 meaning the model's block size (got {MaxContext}).");
        }

        if (PrefixCacheBytes < 0)
        {
            yield return (nameof(PrefixCacheBytes), $"{S}:PrefixCacheBytes must be ≥ 0 (got {PrefixCacheBytes}).");
        }

        if (KvCacheBudgetBytes < 0)
        {
            yield return (nameof(KvCacheBudgetBytes), $"{S}:KvCacheBudgetBytes must be ≥ 0, 0 meaning no limit (got {KvCacheBudgetBytes}).");
        }

        if (Threads < 0)
        {
            yield return (nameof(Threads), $"{S}:Threads must be ≥ 0, 0 meaning libtorch's default (got {Threads}).");
        }

        string? cacheProblem = null;
        try
        {
            _ = Caching.CacheStrategy.Parse(CacheStrategy, $"{S}:CacheStrategy");
        }
        catch (ArgumentException ex)
        {
            int cut = ex.Message.IndexOf(" (Parameter '", StringComparison.Ordinal);
            cacheProblem = cut > 0 ? ex.Message[..cut] : ex.Message;
        }

        if (cacheProblem is not null)
        {
            yield return (nameof(CacheStrategy), $"{S}:CacheStrategy: {cacheProblem}");
        }

        if (!Devices.DeviceNames.IsValidSpec(Device))
        {
            yield return (nameof(Device), $"{S}:Device '{Device}' is not valid; expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\".");
        }

        if (!Devices.DeviceNames.IsValidDType(DType))
        {
            yield return (nameof(DType), $"{S}:DType '{DType}' is not valid; expected \"auto\", \"float32\", \"bfloat16\" or \"float16\".");
        }
    }
}
