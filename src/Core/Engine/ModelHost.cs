using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RecurrentDepth.Devices;
using RecurrentDepth.Modeling;

namespace RecurrentDepth.Engine;

/// <summary>
/// The hosted model core: loads the checkpoint in the background when the host starts (logging progress per
/// tensor), then serves requests through an <see cref="InferenceEngine"/> that owns the model and device. Until the
/// model is ready, requests wait for the load (bounded by their cancellation token); after a failed load they fail
/// fast with <see cref="ModelNotReadyException"/> carrying the reason. Register it once per model (the connector's <c>AddRecurrentDepthModel</c> does).
/// </summary>
public sealed class ModelHost : BackgroundService, IInferenceEngine
{
    // Read on first use, not in the constructor: the host validates options when it starts (ValidateOnStart), and
    // resolving the hosted services must not throw before that check can report every invalid option together.
    private readonly IOptions<EngineOptions> _optionsAccessor;
    private string? _modelId;
    private readonly ILogger<ModelHost> _logger;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile InferenceEngine? _engine;
    private volatile string? _failure;
    private volatile bool _stopped;
    private volatile bool _started;

    /// <summary>Creates the host; nothing is loaded until the host starts.</summary>
    public ModelHost(IOptions<EngineOptions> options, ILogger<ModelHost> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _optionsAccessor = options;
        _logger = logger;
    }

    private EngineOptions _options => _optionsAccessor.Value;

    /// <inheritdoc />
    public string ModelId => _modelId ??= _options.ModelId ?? (string.IsNullOrWhiteSpace(_options.ModelPath) ? "recurrent-depth" : new DirectoryInfo(_options.ModelPath).Name);

    /// <inheritdoc />
    public EngineState State => _stopped ? EngineState.Stopped : _failure is not null ? EngineState.Faulted : _engine is null ? EngineState.Loading : EngineState.Ready;

    /// <inheritdoc />
    public string? FailureReason => _failure;

    /// <inheritdoc />
    public int QueueLength => _engine?.QueueLength ?? 0;

    /// <inheritdoc />
    public int QueueCapacity => _options.MaxQueue;

    /// <inheritdoc />
    public EngineLoad CurrentLoad => _engine?.CurrentLoad ?? new EngineLoad { QueueCapacity = QueueCapacity };

    /// <summary>Latest load progress, for progress displays; null before the first tensor.</summary>
    public ModelLoadProgress? LoadProgress { get; private set; }

    /// <summary>Completes when the model is loaded (or faults with the load error).</summary>
    public Task WhenLoaded => _loaded.Task;

    /// <summary>The engine once loaded (for counters and tests); null before.</summary>
    public InferenceEngine? Engine => _engine;

    /// <inheritdoc />
    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_engine is null && _started && State == EngineState.Loading)
        {
            // A request that arrives during the load waits for it (bounded by the caller's token or timeout).
            await ((Task)_loaded.Task).ContinueWith(static _ => { }, cancellationToken, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }

        var engine = _engine ?? throw new ModelNotReadyException(State switch
        {
            EngineState.Faulted => $"Model '{ModelId}' failed to load: {_failure}",
            EngineState.Stopped => $"Model '{ModelId}' has stopped.",
            _ => $"Model '{ModelId}' is not loaded: the host that owns it has not started (call IHost.StartAsync, or run the host).",
        });
        await foreach (var update in engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _started = true;
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Loading is blocking native work; keep it off the host's start-up path.
        await Task.Yield();
        try
        {
            _options.Validate();
            LogNativeBackend(LibTorchBackend.EnsureLoaded());
            _logger.LogInformation("Loading model {ModelId} from {Path} (device {Device}, dtype {DType}).", ModelId, _options.ModelPath, _options.Device, _options.DType);
            var engine = await Task.Run(() => InferenceEngine.Load(_options, new Progress(this), _logger), stoppingToken).ConfigureAwait(false);
            if (_stopped || stoppingToken.IsCancellationRequested)
            {
                // The host stopped while the load ran: nobody will stop or dispose this engine later.
                engine.Dispose();
                _loaded.TrySetCanceled(stoppingToken);
                return;
            }

            _engine = engine;
            _logger.LogInformation("Model {ModelId} ready on {Device}.", ModelId, engine.DeviceName);
            _loaded.TrySetResult();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _loaded.TrySetCanceled(stoppingToken);
        }
        catch (Exception ex)
        {
            // A native-load failure surfaces from TorchSharp as a bare TypeInitializationException; say why instead.
            _failure = NativeLoadDiagnosis.Describe(ex) ?? ex.Message;
            _logger.LogError(ex, "Model {ModelId} failed to load: {Reason}", ModelId, ex.Message);
            _loaded.TrySetException(ex);
        }
    }

    private void LogNativeBackend(LibTorchBackendInfo backend)
    {
        if (backend.VersionMatches == false)
        {
            _logger.LogWarning("Running on {Backend}", backend.Describe());
        }
        else
        {
            _logger.LogInformation("Running on {Backend}", backend.Describe());
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_engine is { } engine)
        {
            await engine.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _engine?.Dispose();
        base.Dispose();
    }

    private sealed class Progress(ModelHost host) : IProgress<ModelLoadProgress>
    {
        private double _lastLogged = -1;

        public void Report(ModelLoadProgress value)
        {
            host.LoadProgress = value;
            if (value.Fraction - _lastLogged >= 0.1 || value.TensorsLoaded == value.TensorCount)
            {
                _lastLogged = value.Fraction;
                host._logger.LogInformation("Loaded {Tensors}/{Count} tensors, {Loaded:N0}/{Total:N0} bytes ({Fraction:P0}, {Rate:N1} MB/s).",
                    value.TensorsLoaded, value.TensorCount, value.BytesLoaded, value.TotalBytes, value.Fraction, value.BytesPerSecond / 1e6);
            }
        }
    }
}
