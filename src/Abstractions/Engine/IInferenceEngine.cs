namespace RecurrentDepth.Engine;

/// <summary>Lifecycle of an engine.</summary>
public enum EngineState
{
    /// <summary>The model is loading; requests wait for it (the health check reports Unhealthy meanwhile).</summary>
    Loading,

    /// <summary>Serving requests.</summary>
    Ready,

    /// <summary>Loading failed; <see cref="IInferenceEngine.FailureReason"/> says why. Requests fail fast with it.</summary>
    Faulted,

    /// <summary>Stopped; requests are refused.</summary>
    Stopped,
}

/// <summary>
/// The model core as the connector sees it: submit a request, read its tokens as they are produced. One engine owns
/// one model and its device; callers on any thread share it.
/// </summary>
public interface IInferenceEngine
{
    /// <summary>Identifier of the loaded model (the checkpoint folder's name unless configured).</summary>
    string ModelId { get; }

    /// <summary>Current lifecycle state.</summary>
    EngineState State { get; }

    /// <summary>Why the engine is <see cref="EngineState.Faulted"/>; null otherwise.</summary>
    string? FailureReason { get; }

    /// <summary>Requests waiting for admission.</summary>
    int QueueLength { get; }

    /// <summary>Most requests that may wait; one more is rejected with <see cref="EngineQueueFullException"/>.</summary>
    int QueueCapacity { get; }

    /// <summary>
    /// A snapshot of the engine's load: queue, active sequences, KV-pool blocks and prefix-cache use. Cheap; safe to
    /// call from any thread (health checks, metrics and placement read it).
    /// </summary>
    EngineLoad CurrentLoad { get; }

    /// <summary>
    /// Streams the response to <paramref name="request"/>. The last update carries the summary. Cancelling the token
    /// stops work within one recurrence step.
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid (the message names the setting).</exception>
    /// <exception cref="EngineQueueFullException">The queue is full.</exception>
    /// <exception cref="ModelNotReadyException">The model failed to load, or the engine stopped (or was never started).</exception>
    IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default);
}

/// <summary>A snapshot of an engine's load.</summary>
public sealed record EngineLoad
{
    /// <summary>Requests waiting for admission.</summary>
    public int QueueLength { get; init; }

    /// <summary>Most requests that may wait.</summary>
    public int QueueCapacity { get; init; }

    /// <summary>Sequences admitted and not yet finished.</summary>
    public int ActiveSequences { get; init; }

    /// <summary>Blocks of the KV pool in total (0 when the engine has no pool yet).</summary>
    public int KvBlocksTotal { get; init; }

    /// <summary>Blocks of the KV pool free for new sequences (prefix-cache blocks that can be evicted count as free).</summary>
    public int KvBlocksFree { get; init; }

    /// <summary>Bytes held by the prefix cache of finished conversations.</summary>
    public long PrefixCacheBytes { get; init; }
}

/// <summary>Thrown when a request arrives while the engine's queue is full.</summary>
public sealed class EngineQueueFullException : InvalidOperationException
{
    /// <summary>Creates the exception for a queue of <paramref name="capacity"/>.</summary>
    public EngineQueueFullException(int capacity)
        : base($"The inference queue is full ({capacity} requests waiting); retry later or raise RecurrentDepth:MaxQueue.") => Capacity = capacity;

    /// <summary>Creates the exception with a message.</summary>
    public EngineQueueFullException() : base("The inference queue is full.") { }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public EngineQueueFullException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a message.</summary>
    public EngineQueueFullException(string message) : base(message) { }

    /// <summary>Queue capacity at the time.</summary>
    public int Capacity { get; }
}

/// <summary>Thrown when a request arrives before the model is ready, after a failed load, or after stop.</summary>
public sealed class ModelNotReadyException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public ModelNotReadyException() : base("The model is not ready.") { }

    /// <summary>Creates the exception with a message.</summary>
    public ModelNotReadyException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public ModelNotReadyException(string message, Exception innerException) : base(message, innerException) { }
}
