using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tokenization;
using TorchSharp;

namespace RecurrentDepth.Engine;

/// <summary>
/// Serves generation requests on one model, in three parts: <see cref="RequestProcessor"/> prepares each request on
/// the caller's thread (template, tokens, limits, validation, key/value reservation); <see cref="EngineCore"/> owns the
/// model, the device and every cache on one dedicated thread and only admits, cancels, schedules, steps and emits
/// token ids; an <see cref="OutputProcessor"/> per request turns those ids into text, stop strings and the summary on
/// the caller's side of the stream. Callers hand requests over a bounded queue (a full queue is an immediate
/// <see cref="EngineQueueFullException"/>). Up to <see cref="EngineOptions.MaxBatch"/> sequences decode together
/// with depth-aware scheduling (<see cref="RecurrentDecoder"/>). Finished conversations' caches are kept for the next
/// turn (<see cref="PrefixCache"/>). Cancellation is honoured between recurrence steps and frees the sequence's
/// cache. A request that fails (bad input, an error in its batch) fails alone; the engine keeps serving.
/// </summary>
public sealed class InferenceEngine : IInferenceEngine, IDisposable
{
    /// <summary>Positions of one slot per KV block: the unit <see cref="EngineLoad.KvBlocksTotal"/> counts the budget in.</summary>
    public const int KvBlockTokens = KvBlockPool.BlockSize;

    private readonly RavenModel _model;
    private readonly HuginnTokenizer _tokenizer;
    private readonly EngineOptions _options;
    private readonly bool _ownsModel;
    private readonly RequestProcessor _requests;
    private readonly EngineCore _core;
    private readonly EngineMetrics _metrics;
    private readonly long _blockBytes;
    private volatile bool _stopping;

    /// <summary>Starts an engine over an already loaded model and tokenizer.</summary>
    /// <param name="model">The model; disposed with the engine when <paramref name="ownsModel"/>.</param>
    /// <param name="tokenizer">The checkpoint's tokenizer (chat template, stop tokens).</param>
    /// <param name="options">Validated options (batch, queue, context, cache strategy, budgets).</param>
    /// <param name="logger">Logger; none when null.</param>
    /// <param name="ownsModel">Dispose the model when the engine is disposed.</param>
    /// <param name="depthAwareScheduling">Let converged sequences move on without waiting (default true); false runs in lock step.</param>
    public InferenceEngine(RavenModel model, HuginnTokenizer tokenizer, EngineOptions options, ILogger? logger = null, bool ownsModel = false, bool depthAwareScheduling = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        if (tokenizer.VocabSize > model.Config.VocabSize)
        {
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize} ids but the model's vocabulary is {model.Config.VocabSize}.", nameof(tokenizer));
        }

        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        _ownsModel = ownsModel;
        _requests = new RequestProcessor(model.Config, tokenizer, options, model.DType);
        _blockBytes = KvBlockPool.EntryBytesOf(model.Config.NHeads, model.Config.HeadDim, model.DType) * KvBlockTokens;

        ModelId = options.ModelId ?? (string.IsNullOrWhiteSpace(options.ModelPath) ? "recurrent-depth" : new DirectoryInfo(options.ModelPath).Name);
        _core = new EngineCore(model, options, logger ?? NullLogger.Instance, depthAwareScheduling, $"RecurrentDepth engine ({ModelId})");
        ConstraintFactory = new Generation.Constraints.TokenConstraintFactory(() => Generation.Constraints.TokenVocabulary.FromTokenizer(tokenizer, model.Config.VocabSize));
        _metrics = new EngineMetrics(this);
    }

    /// <summary>Loads the checkpoint folder named by <paramref name="options"/> and starts an engine that owns it.</summary>
    public static InferenceEngine Load(EngineOptions options, IProgress<ModelLoadProgress>? progress = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Threads > 0)
        {
            torch.set_num_threads(options.Threads);
        }

        var tokenizer = HuginnTokenizer.Load(options.ModelPath);
        var model = RavenModel.Load(options.ModelPath, new ModelLoadOptions { Device = options.Device, DType = options.DType, CheckFinite = options.CheckWeights }, progress);
        try
        {
            return new InferenceEngine(model, tokenizer, options, logger, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public string ModelId { get; }

    /// <summary>Test hook: runs before every batched recurrence with the batch's sequences (may throw to simulate a model failure).</summary>
    internal Action<IReadOnlyList<DecodeSequence>>? FaultInjection { get => _core.FaultInjection; set => _core.FaultInjection = value; }

    /// <summary>Test hook: may overwrite the last-position logits (n, V) of a readout batch (e.g. with NaN).</summary>
    internal Action<IReadOnlyList<DecodeSequence>, torch.Tensor>? LogitsInjection { get => _core.LogitsInjection; set => _core.LogitsInjection = value; }

    /// <summary>Device-to-host reads the decoder made so far (at most one per decode step).</summary>
    internal long HostReads => _core.Counters.HostReads;

    /// <summary>Decode steps run so far.</summary>
    internal long DecodeSteps => _core.Counters.Steps;

    /// <summary>
    /// Compiles requests' <see cref="GenerationRequest.Constraint"/> into token masks (constrained decoding). Set it
    /// once, before serving; while null, a request with a constraint is rejected with <see cref="NotSupportedException"/>.
    /// Defaults to <see cref="Generation.Constraints.TokenConstraintFactory"/> over the engine's tokenizer.
    /// </summary>
    public Generation.Constraints.ITokenConstraintFactory? ConstraintFactory { get; set; }

    /// <summary>Device the model runs on, e.g. "cpu" or "cuda:0".</summary>
    public string DeviceName => _model.Device.ToString();

    /// <summary>The tokenizer in use.</summary>
    public HuginnTokenizer Tokenizer => _tokenizer;

    /// <summary>The model's configuration.</summary>
    public Configuration.RavenConfig ModelConfig => _model.Config;

    /// <summary>Whether converged sequences move on without waiting for the deepest one.</summary>
    public bool DepthAwareScheduling => _core.DepthAware;

    /// <inheritdoc />
    public EngineState State => _stopping ? EngineState.Stopped : EngineState.Ready;

    /// <inheritdoc />
    public string? FailureReason => null;

    /// <inheritdoc />
    public int QueueLength => _core.QueueLength;

    /// <inheritdoc />
    public int QueueCapacity => _options.MaxQueue;

    /// <inheritdoc />
    public EngineLoad CurrentLoad => new()
    {
        QueueLength = QueueLength,
        QueueCapacity = QueueCapacity,
        ActiveSequences = ActiveSequences,
        KvBlocksTotal = (int)Math.Min(int.MaxValue, _options.KvCacheBudgetBytes / _blockBytes),
        KvBlocksFree = (int)Math.Min(int.MaxValue, Math.Max(0, _options.KvCacheBudgetBytes - KvReservedBytes) / _blockBytes),
        PrefixCacheBytes = PrefixCacheBytes,
    };

    /// <summary>Sequences currently being decoded.</summary>
    public int ActiveSequences => _core.ActiveSequences;

    /// <summary>Worst-case key/value bytes the running sequences have reserved against <see cref="EngineOptions.KvCacheBudgetBytes"/>.</summary>
    public long KvReservedBytes => _core.ReservedBytes;

    /// <summary>Bytes held by the prefix cache of finished conversations.</summary>
    public long PrefixCacheBytes => _core.PrefixCacheBytes;

    /// <summary>Finished conversations held by the prefix cache.</summary>
    public int PrefixCacheEntries => _core.PrefixCacheEntries;

    /// <summary>Batched recurrence steps run so far (what depth-aware scheduling saves).</summary>
    public long CoreBatches => _core.Counters.CoreBatches;

    /// <summary>Recurrence steps summed over sequences so far.</summary>
    public long SequenceSteps => _core.Counters.SequenceSteps;

    /// <summary>Tokens generated so far, all requests together.</summary>
    public long GeneratedTokens => _core.Counters.GeneratedTokens;

    /// <summary>Prompt positions run through the model so far (a prefix reused from the cache is not run again).</summary>
    public long PrefilledTokens => _core.Counters.PrefilledTokens;

    /// <inheritdoc />
    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (_stopping)
        {
            throw new ModelNotReadyException($"Model '{ModelId}' has stopped.");
        }

        var work = new EngineRequest(request, Prepare(request));
        var output = new OutputProcessor(request, _tokenizer.CreateStreamingDecoder(skipSpecialTokens: true), _tokenizer.VocabSize, _model.Config);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_core.TrySubmit(work))
        {
            throw _stopping ? new ModelNotReadyException($"Model '{ModelId}' has stopped.") : new EngineQueueFullException(_options.MaxQueue);
        }

        using var registration = cancellationToken.Register(() => Cancel(work));
        try
        {
            await foreach (var (token, outcome) in work.Events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // ReadAllAsync checks the token only when it has to wait; the engine may be many tokens ahead.
                cancellationToken.ThrowIfCancellationRequested();
                if (token is not null && !output.StopMatched)
                {
                    var update = Accept(output, token);
                    if (output.StopMatched)
                    {
                        // The core forgets the tokens it made after this one (it may be a step or two ahead).
                        work.RequestStop(output.KeptTokens);
                        _core.Signal(work);
                    }

                    yield return update;
                }
                else if (outcome is not null)
                {
                    if (output.Flush() is { } rest)
                    {
                        yield return rest;
                    }

                    yield return output.Summarize(outcome);
                }
            }
        }
        finally
        {
            // A caller that stops reading (break, dispose, cancel) releases the sequence within one step.
            if (!work.Done)
            {
                Cancel(work);
            }
        }
    }

    /// <summary>Stops admitting requests, lets in-flight ones finish until <paramref name="cancellationToken"/> fires, then cancels the rest.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        return _core.StopAsync(cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stopping = true;
        _core.Dispose();
        _metrics.Dispose();
        if (_ownsModel)
        {
            _model.Dispose();
        }
    }

    /// <summary>The decoder options the engine builds for <paramref name="request"/> (tests compare with the decoder run directly).</summary>
    internal SequenceOptions BuildSequenceOptions(GenerationRequest request) => Prepare(request).Options;

    private PreparedRequest Prepare(GenerationRequest request) => _requests.Prepare(request, ConstraintFactory);

    private static GenerationUpdate Accept(OutputProcessor output, GeneratedToken token)
    {
        try
        {
            return output.Accept(token);
        }
        catch (Exception ex)
        {
            // Turning a token into text failed for this request only; the engine never sees it.
            throw new InvalidOperationException($"Generation failed while streaming text: {ex.Message}", ex);
        }
    }

    private void Cancel(EngineRequest work)
    {
        work.CancelRequested = true;
        _core.Signal(work);
    }
}
