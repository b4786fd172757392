using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tokenization;
using TorchSharp;

namespace RecurrentDepth.Engine;

/// <summary>
/// Serves generation requests on one model. A single dedicated thread owns the model, the device and every cache;
/// callers hand requests over a bounded queue (a full queue is an immediate <see cref="EngineQueueFullException"/>)
/// and read tokens from their own channel. Up to <see cref="EngineOptions.MaxBatch"/> sequences decode together
/// with depth-aware scheduling (<see cref="RecurrentDecoder"/>): a sequence whose token converged moves on without
/// waiting for the deepest one. Cancellation is honoured between recurrence steps and frees the sequence's cache.
/// A request that fails (bad input, an error in its batch) fails alone; the engine keeps serving.
/// </summary>
public sealed class InferenceEngine : IInferenceEngine, IDisposable
{
    private readonly RavenModel _model;
    private readonly HuginnTokenizer _tokenizer;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly bool _ownsModel;
    private readonly CacheStrategy _defaultCache;
    private readonly Channel<Work> _queue;
    private readonly ConcurrentQueue<Work> _cancelled = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private volatile bool _abortAll;
    private int _queued;
    private long _coreBatches;
    private long _sequenceSteps;
    private long _generatedTokens;
    private long _hostReads;
    private long _steps;

    /// <summary>Starts an engine over an already loaded model and tokenizer.</summary>
    /// <param name="model">The model; disposed with the engine when <paramref name="ownsModel"/>.</param>
    /// <param name="tokenizer">The checkpoint's tokenizer (chat template, stop tokens).</param>
    /// <param name="options">Validated options (batch, queue, context, cache strategy).</param>
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
        _logger = logger ?? NullLogger.Instance;
        _ownsModel = ownsModel;
        _defaultCache = CacheStrategy.Parse(options.CacheStrategy, "RecurrentDepth:CacheStrategy");
        ModelId = options.ModelId ?? (string.IsNullOrWhiteSpace(options.ModelPath) ? "recurrent-depth" : new DirectoryInfo(options.ModelPath).Name);
        DepthAwareScheduling = depthAwareScheduling;
        ConstraintFactory = new Generation.Constraints.TokenConstraintFactory(() => Generation.Constraints.TokenVocabulary.FromTokenizer(tokenizer, model.Config.VocabSize));
        _queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(options.MaxQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _thread = new Thread(Run) { IsBackground = true, Name = $"RecurrentDepth engine ({ModelId})" };
        _thread.Start();
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
        var model = RavenModel.Load(options.ModelPath, new ModelLoadOptions { Device = options.Device, DType = options.DType }, progress);
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
    internal Action<IReadOnlyList<DecodeSequence>>? FaultInjection { get; set; }

    /// <summary>Test hook: may overwrite the last-position logits (n, V) of a readout batch (e.g. with NaN).</summary>
    internal Action<IReadOnlyList<DecodeSequence>, TorchSharp.torch.Tensor>? LogitsInjection { get; set; }

    /// <summary>Device-to-host reads the decoder made so far (at most one per decode step).</summary>
    internal long HostReads => Interlocked.Read(ref _hostReads);

    /// <summary>Decode steps run so far.</summary>
    internal long DecodeSteps => Interlocked.Read(ref _steps);

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
    public bool DepthAwareScheduling { get; }

    /// <inheritdoc />
    public EngineState State => _stopping ? EngineState.Stopped : EngineState.Ready;

    /// <inheritdoc />
    public string? FailureReason => null;

    /// <inheritdoc />
    public int QueueLength => Volatile.Read(ref _queued);

    /// <inheritdoc />
    public int QueueCapacity => _options.MaxQueue;

    /// <inheritdoc />
    public EngineLoad CurrentLoad => new() { QueueLength = QueueLength, QueueCapacity = QueueCapacity, ActiveSequences = ActiveSequences };

    /// <summary>Sequences currently being decoded.</summary>
    public int ActiveSequences { get; private set; }

    /// <summary>Batched recurrence steps run so far (what depth-aware scheduling saves).</summary>
    public long CoreBatches => Interlocked.Read(ref _coreBatches);

    /// <summary>Recurrence steps summed over sequences so far.</summary>
    public long SequenceSteps => Interlocked.Read(ref _sequenceSteps);

    /// <summary>Tokens generated so far, all requests together.</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    /// <inheritdoc />
    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (_stopping)
        {
            throw new ModelNotReadyException($"Model '{ModelId}' has stopped.");
        }

        var work = new Work(request, BuildSequenceOptions(request), _tokenizer.CreateStreamingDecoder(skipSpecialTokens: true), _tokenizer.VocabSize);
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(work))
        {
            Interlocked.Decrement(ref _queued);
            if (_stopping)
            {
                throw new ModelNotReadyException($"Model '{ModelId}' has stopped.");
            }

            throw new EngineQueueFullException(_options.MaxQueue);
        }

        _wake.Set();
        using var registration = cancellationToken.Register(() => Cancel(work));
        try
        {
            await foreach (var update in work.Output.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // ReadAllAsync checks the token only when it has to wait; the engine may be many tokens ahead.
                cancellationToken.ThrowIfCancellationRequested();
                yield return update;
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
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        _wake.Set();
        using (cancellationToken.Register(() => { _abortAll = true; _wake.Set(); }))
        {
            await _exited.Task.ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Close the queue before aborting, so a request written concurrently is either drained (and failed) by the
        // engine thread or refused at the door, never left behind in a queue nobody reads.
        _stopping = true;
        _queue.Writer.TryComplete();
        _abortAll = true;
        _wake.Set();
        _thread.Join();
        _wake.Dispose();
        if (_ownsModel)
        {
            _model.Dispose();
        }
    }

    private void Cancel(Work work)
    {
        work.CancelRequested = true;
        _cancelled.Enqueue(work);
        _wake.Set();
    }

    private SequenceOptions BuildSequenceOptions(GenerationRequest request)
    {
        IReadOnlyList<int> prompt = request.PromptTokens
            ?? (request.Prompt is { } text
                ? [_tokenizer.BosId, .. _tokenizer.Encode(text)]
                : _tokenizer.Encode(_tokenizer.Template.Render(request.Messages, addGenerationPrompt: true)));
        // Token ids are validated once, here on the caller's thread; the device loop trusts them.
        foreach (int id in prompt)
        {
            if (id < 0 || id >= _model.Config.VocabSize)
            {
                throw new ArgumentException($"Prompt token id {id} is outside the vocabulary [0, {_model.Config.VocabSize}).", "prompt_tokens");
            }
        }

        Generation.Constraints.ITokenConstraint? constraint = null;
        if (request.Constraint is { } wanted)
        {
            var factory = ConstraintFactory ?? throw new NotSupportedException(
                $"Constrained decoding (GenerationRequest.Constraint, kind {wanted.Kind}) is not available: no ITokenConstraintFactory is registered with the engine (InferenceEngine.ConstraintFactory).");
            int contextRoom = (_options.MaxContext > 0 ? Math.Min(_options.MaxContext, _model.Config.BlockSize) : _model.Config.BlockSize) - prompt.Count;
            constraint = factory.Create(wanted, _model.Config.VocabSize, Math.Max(1, Math.Min(request.MaxNewTokens, contextRoom)));
        }

        var options = new SequenceOptions
        {
            Prompt = prompt,
            Constraint = constraint,
            MeasureConvergence = _options.MeasureConvergence,
            Depth = request.Depth,
            Sampling = request.Sampling,
            Cache = request.Cache ?? _defaultCache,
            MaxNewTokens = request.MaxNewTokens,
            StopTokens = request.IgnoreEndOfTurn ? new HashSet<int>() : _tokenizer.StopTokenIds,
            MaxContext = _options.MaxContext,
            // Greedy requests without a seed still draw their initial latent states: seed 0 keeps temperature 0 deterministic.
            Seed = request.Seed ?? (request.Sampling.IsGreedy ? 0 : Random.Shared.NextInt64()),
        }.Validate();
        int limit = _options.MaxContext > 0 ? Math.Min(_options.MaxContext, _model.Config.BlockSize) : _model.Config.BlockSize;
        if (prompt.Count >= limit)
        {
            throw new ArgumentException($"The prompt has {prompt.Count} tokens; the context limit is {limit} tokens (RecurrentDepth:MaxContext / the model's block_size), and at least one must be left to generate.", "messages");
        }

        return options;
    }

    private void Run()
    {
        using var decoder = new RecurrentDecoder(_model, DepthAwareScheduling)
        {
            BeforeRecurrence = rows => FaultInjection?.Invoke(rows),
            AfterReadout = (rows, logits) => LogitsInjection?.Invoke(rows, logits),
        };
        var active = new Dictionary<DecodeSequence, Work>();
        while (true)
        {
            ProcessCancellations(decoder, active);
            if (_abortAll)
            {
                foreach (var (sequence, work) in active.ToList())
                {
                    Complete(decoder, active, sequence, work, FinishReason.Cancelled);
                }

                DrainQueue(cancel: true);
                break;
            }

            Admit(decoder, active);
            if (active.Count == 0)
            {
                if (_stopping && _queue.Reader.Completion.IsCompleted)
                {
                    break;
                }

                _wake.Wait(TimeSpan.FromMilliseconds(200));
                _wake.Reset();
                continue;
            }

            StepOnce(decoder, active);
        }

        _exited.TrySetResult();
    }

    private void Admit(RecurrentDecoder decoder, Dictionary<DecodeSequence, Work> active)
    {
        while (active.Count < _options.MaxBatch && _queue.Reader.TryRead(out var work))
        {
            Interlocked.Decrement(ref _queued);
            if (work.CancelRequested)
            {
                work.Finish(new OperationCanceledException("The request was cancelled before it started."));
                continue;
            }

            try
            {
                var sequence = decoder.Add(work.Options);
                work.Clock.Start();
                active[sequence] = work;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                work.Finish(ex);
            }
        }

        ActiveSequences = active.Count;
    }

    private void ProcessCancellations(RecurrentDecoder decoder, Dictionary<DecodeSequence, Work> active)
    {
        while (_cancelled.TryDequeue(out var work))
        {
            var entry = active.FirstOrDefault(kv => ReferenceEquals(kv.Value, work));
            if (entry.Key is not null)
            {
                Complete(decoder, active, entry.Key, work, FinishReason.Cancelled);
            }
        }
    }

    private void StepOnce(RecurrentDecoder decoder, Dictionary<DecodeSequence, Work> active)
    {
        IReadOnlyList<TokenEvent> events;
        long batchesBefore = decoder.CoreBatches, stepsBefore = decoder.SequenceSteps, readsBefore = decoder.HostReads, decodeStepsBefore = decoder.Steps;
        try
        {
            events = decoder.Step();
        }
        catch (Exception ex)
        {
            // The decoder isolates failures per batch; an error here is outside any batch, so every active sequence fails.
            _logger.LogError(ex, "A decode step failed; failing the {Count} active sequences.", active.Count);
            foreach (var (sequence, work) in active.ToList())
            {
                active.Remove(sequence);
                decoder.Remove(sequence);
                work.Finish(new InvalidOperationException($"Generation failed in the model: {ex.Message}", ex));
            }

            ActiveSequences = 0;
            return;
        }
        finally
        {
            Interlocked.Add(ref _coreBatches, decoder.CoreBatches - batchesBefore);
            Interlocked.Add(ref _sequenceSteps, decoder.SequenceSteps - stepsBefore);
            Interlocked.Add(ref _hostReads, decoder.HostReads - readsBefore);
            Interlocked.Add(ref _steps, decoder.Steps - decodeStepsBefore);
        }

        foreach (var (sequence, work) in active.Where(kv => kv.Key.Error is not null).ToList())
        {
            _logger.LogError(sequence.Error, "Request failed in the model and was removed; the engine keeps serving the others.");
            active.Remove(sequence);
            decoder.Remove(sequence);
            work.Finish(new InvalidOperationException($"Generation failed in the model: {sequence.Error?.Message}", sequence.Error));
        }

        ActiveSequences = active.Count;
        foreach (var e in events)
        {
            if (!active.TryGetValue(e.Sequence, out var work))
            {
                continue;
            }

            Interlocked.Increment(ref _generatedTokens);
            try
            {
                bool stopped = work.Accept(e);
                if (stopped)
                {
                    Complete(decoder, active, e.Sequence, work, FinishReason.Stop);
                }
                else if (e.Sequence.Phase == SequencePhase.Finished)
                {
                    Complete(decoder, active, e.Sequence, work, e.Sequence.FinishReason ?? FinishReason.Length);
                }
            }
            catch (Exception ex)
            {
                // Turning a token into text failed for this request only: fail it, keep the engine thread alive.
                _logger.LogError(ex, "Streaming a token failed; the request is failed and the engine keeps serving.");
                active.Remove(e.Sequence);
                ActiveSequences = active.Count;
                decoder.Remove(e.Sequence);
                work.Finish(new InvalidOperationException($"Generation failed while streaming text: {ex.Message}", ex));
            }
        }
    }

    private void Complete(RecurrentDecoder decoder, Dictionary<DecodeSequence, Work> active, DecodeSequence sequence, Work work, FinishReason reason)
    {
        active.Remove(sequence);
        ActiveSequences = active.Count;
        var generated = sequence.Generated;
        var summary = new GenerationSummary
        {
            InputTokens = sequence.PromptTokens,
            OutputTokens = generated.Count,
            TotalSteps = generated.Sum(g => (long)g.Steps),
            MaxSteps = generated.Count == 0 ? 0 : generated.Max(g => g.Steps),
            CapHitTokens = generated.Count(g => !g.ExitedEarly),
            UnconvergedTokens = generated.Count(g => g.ExitValue is double v && DepthScheduler.IsUnconverged(work.Request.Depth, v)),
            MaxExitValue = generated.Any(g => g.ExitValue is not null) ? generated.Max(g => g.ExitValue ?? double.MinValue) : null,
            EffectiveFlops = EffectiveFlops(sequence),
            KvCacheBytes = sequence.Cache.UsedBytes,
            KvBytesPerToken = sequence.Cache.BytesPerToken,
            FinishReason = reason,
            Elapsed = work.Clock.Elapsed,
            Depth = work.Request.Depth,
        };
        decoder.Remove(sequence);
        if (reason == FinishReason.Cancelled && work.CancelRequested)
        {
            work.Finish(new OperationCanceledException("The request was cancelled."));
            return;
        }

        work.Flush();
        work.Output.Writer.TryWrite(new GenerationUpdate("", null, summary));
        work.Finish(null);
    }

    private double EffectiveFlops(DecodeSequence sequence)
    {
        var generated = sequence.Generated;
        if (generated.Count == 0)
        {
            return 0;
        }

        // The first generated token came from the prompt call, which ran its steps over every prompt position.
        double prompt = sequence.PromptTokens * FlopCounter.PerToken(_model.Config, generated[0].Steps);
        return prompt + generated.Skip(1).Sum(g => FlopCounter.PerToken(_model.Config, g.Steps));
    }

    private void DrainQueue(bool cancel)
    {
        while (_queue.Reader.TryRead(out var work))
        {
            Interlocked.Decrement(ref _queued);
            if (cancel)
            {
                work.Finish(new ModelNotReadyException($"Model '{ModelId}' stopped before the request started."));
            }
        }
    }

    private sealed class Work(GenerationRequest request, SequenceOptions options, StreamingDetokenizer detokenizer, int textVocabSize)
    {
        private readonly System.Text.StringBuilder _pending = new();
        private readonly int _longestStop = request.StopSequences.Count == 0 ? 0 : request.StopSequences.Max(s => s.Length);

        public GenerationRequest Request { get; } = request;

        public SequenceOptions Options { get; } = options;

        public Channel<GenerationUpdate> Output { get; } = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });

        public Stopwatch Clock { get; } = new();

        public volatile bool CancelRequested;

        public bool Done { get; private set; }

        public bool StopMatched { get; private set; }

        /// <summary>Streams a token's text; returns true when a stop sequence ended the response.</summary>
        public bool Accept(TokenEvent e)
        {
            var token = e.Token;
            // The model's vocabulary may be padded past the tokenizer's (padded_vocab_size); such ids have no text, as in
            // Hugging Face decoding, and must not throw on the engine thread.
            _pending.Append(token.TokenId < textVocabSize ? detokenizer.Append(token.TokenId) : "");
            if (_longestStop == 0)
            {
                Output.Writer.TryWrite(new GenerationUpdate(_pending.ToString(), token));
                _pending.Clear();
                return false;
            }

            var text = _pending.ToString();
            // The response ends at the earliest stop in the text, whichever the list names first.
            int at = Request.StopSequences.Select(stop => text.IndexOf(stop, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (at >= 0)
            {
                Output.Writer.TryWrite(new GenerationUpdate(text[..at], token));
                _pending.Clear();
                StopMatched = true;
                return true;
            }

            // Hold back the longest tail that could still grow into a stop sequence.
            int hold = 0;
            for (int n = Math.Min(text.Length, _longestStop - 1); n > 0 && hold == 0; n--)
            {
                if (Request.StopSequences.Any(s => s.StartsWith(text[^n..], StringComparison.Ordinal)))
                {
                    hold = n;
                }
            }

            Output.Writer.TryWrite(new GenerationUpdate(text[..^hold], token));
            _pending.Remove(0, text.Length - hold);
            return false;
        }

        public void Flush()
        {
            if (StopMatched)
            {
                return; // text after a stop sequence is never sent, not even the bytes of an unfinished character
            }

            var rest = _pending.Append(detokenizer.Flush()).ToString();
            _pending.Clear();
            if (rest.Length > 0)
            {
                Output.Writer.TryWrite(new GenerationUpdate(rest, null));
            }
        }

        public void Finish(Exception? error)
        {
            Done = true;
            Output.Writer.TryComplete(error);
        }
    }
}
