using Microsoft.Extensions.Logging;
using RecurrentDepth.Modeling;

namespace RecurrentDepth.Engine;

/// <summary>Placeholder: the batching engine is being written (one device thread, bounded queue).</summary>
public sealed class InferenceEngine : IInferenceEngine, IDisposable
{
    private InferenceEngine(string modelId) => ModelId = modelId;

    /// <summary>Loads the checkpoint and starts the device thread.</summary>
    public static InferenceEngine Load(EngineOptions options, IProgress<ModelLoadProgress>? progress, ILogger logger) =>
        throw new NotImplementedException("The inference engine is not implemented yet.");

    /// <summary>Device the model runs on.</summary>
    public string DeviceName => "cpu";

    /// <inheritdoc />
    public string ModelId { get; }

    /// <inheritdoc />
    public EngineState State => EngineState.Ready;

    /// <inheritdoc />
    public string? FailureReason => null;

    /// <inheritdoc />
    public int QueueLength => 0;

    /// <inheritdoc />
    public int QueueCapacity => 0;

    /// <inheritdoc />
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException();

    /// <summary>Stops the device thread.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
