using RecurrentDepth.Engine;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Settings of a recurrent-depth model and of the chat services over it, bound from the configuration section
/// <c>RecurrentDepth</c> (<see cref="SectionName"/>). The model fields map to the engine's <see cref="EngineOptions"/>;
/// the rest are defaults of the chat services. Validated when the host starts; messages name the option.
/// </summary>
public sealed class RecurrentDepthOptions
{
    /// <summary>The configuration section the options are read from: <c>RecurrentDepth</c>.</summary>
    public const string SectionName = "RecurrentDepth";

    /// <summary>Checkpoint folder (config.json, safetensors, tokenizer.json). Required when the model is hosted in-process.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Model id reported to callers; default: the checkpoint folder's name.</summary>
    public string? ModelId { get; set; }

    /// <summary>"auto" (default: CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>"auto" (default: bf16 on CUDA, fp32 on CPU), "float32", "bfloat16" or "float16".</summary>
    public string DType { get; set; } = "auto";

    /// <summary>Most sequences decoded together. Default 8.</summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>Most requests waiting for admission; one more is rejected at once. Default 64.</summary>
    public int MaxQueue { get; set; } = 64;

    /// <summary>Context limit in tokens (prompt + generated); 0 (default) uses the model's block size.</summary>
    public int MaxContext { get; set; }

    /// <summary>KV-cache strategy for requests that do not choose one. Default <c>latest-m4</c>.</summary>
    public string CacheStrategy { get; set; } = "latest-m4";

    /// <summary>Torch intra-op threads on CPU; 0 (default) leaves libtorch's choice.</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Effort used when a request names neither steps nor an effort; any spelling of
    /// <see cref="ThinkingEffortNames.AcceptedValues"/>. Default <c>medium</c>.
    /// </summary>
    public string DefaultEffort { get; set; } = "medium";

    /// <summary>The profile of each effort; defaults are the design table, each field can be overridden.</summary>
    public EffortProfiles EffortProfiles { get; set; } = new();

    /// <summary>Tokens generated when a request does not say (<c>max_tokens</c>). Default 512.</summary>
    public int DefaultMaxTokens { get; set; } = 512;

    /// <summary>
    /// Deadline of one whole request, from submission to its last token; <see cref="Timeout.InfiniteTimeSpan"/>
    /// disables it. A request past it fails with <see cref="TimeoutException"/>. Default 5 minutes.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Deadline for the first token of one attempt (admission, prefill and one decoded token); null (default) uses
    /// <see cref="RequestTimeout"/>. With <see cref="EnableEffortFallback"/> a missed deadline retries at a lower effort.
    /// </summary>
    public TimeSpan? FirstTokenTimeout { get; set; }

    /// <summary>
    /// When the engine's queue is full, or the first token misses <see cref="FirstTokenTimeout"/>, retry at the next
    /// lower effort (reported in the response's metadata) instead of failing. Never retries once a token was
    /// produced. Default false.
    /// </summary>
    public bool EnableEffortFallback { get; set; }

    /// <summary>Pause before a fallback attempt, giving the queue time to drain. Default 250 ms.</summary>
    public TimeSpan EffortFallbackDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The engine's view of these options.</summary>
    public EngineOptions ToEngineOptions() => new()
    {
        ModelPath = ModelPath,
        ModelId = ModelId,
        Device = Device,
        DType = DType,
        MaxBatch = MaxBatch,
        MaxQueue = MaxQueue,
        MaxContext = MaxContext,
        CacheStrategy = CacheStrategy,
        Threads = Threads,
    };
}
