using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;

namespace RecurrentDepth.Engine;

/// <summary>
/// The device half of the engine, on one dedicated thread that owns the model, the decoder and every cache. It only
/// admits (queue order, batch size, key/value budget, prefix reuse), cancels, runs a decoder step and emits token-id
/// events; text, stop strings and summaries are the <see cref="OutputProcessor"/>'s, on the caller's side.
/// </summary>
internal sealed class EngineCore : IDisposable
{
    private readonly RavenModel _model;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<EngineRequest> _queue;
    private readonly ConcurrentQueue<EngineRequest> _control = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PrefixCache? _prefixCache;
    private readonly KvBlockPool _pool;
    private readonly Dictionary<DecodeSequence, EngineRequest> _active = [];
    private volatile bool _abortAll;
    private int _queued;
    private int _activeCount;
    private long _reservedBytes;
    private readonly EngineCounters _counters = new();

    public EngineCore(RavenModel model, EngineOptions options, ILogger logger, bool depthAware, string name)
    {
        _model = model;
        _options = options;
        _logger = logger;
        DepthAware = depthAware;
        _prefixCache = options.PrefixCacheEnabled && options.PrefixCacheBytes > 0 ? new PrefixCache(options.PrefixCacheBytes) : null;
        // One pool for every sequence; with a budget it is fixed at the budget's whole blocks, allocated on first use on
        // the engine thread. Admission reserves worst cases against the same budget, so running sequences never run
        // out; finished conversations in the prefix cache give their blocks back when a sequence needs them.
        var config = model.Config;
        long blockBytes = KvBlockPool.EntryBytesOf(config.NHeads, config.HeadDim, model.DType) * KvBlockPool.BlockSize;
        int maxBlocks = options.KvCacheBudgetBytes > 0 ? (int)Math.Clamp(options.KvCacheBudgetBytes / blockBytes, 1, int.MaxValue) : 0;
        _pool = new KvBlockPool(config.NHeads, config.HeadDim, model.DType, model.Device, maxBlocks)
        {
            Reclaim = () => _prefixCache?.DropOldest() ?? false,
        };
        _queue = Channel.CreateBounded<EngineRequest>(new BoundedChannelOptions(options.MaxQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public bool DepthAware { get; }

    public Action<IReadOnlyList<DecodeSequence>>? FaultInjection { get; set; }

    public Action<IReadOnlyList<DecodeSequence>, TorchSharp.torch.Tensor>? LogitsInjection { get; set; }

    public int QueueLength => Volatile.Read(ref _queued);

    public int ActiveSequences => Volatile.Read(ref _activeCount);

    public long ReservedBytes => Interlocked.Read(ref _reservedBytes);

    public long PrefixCacheBytes => _prefixCache?.Bytes ?? 0;

    public int PrefixCacheEntries => _prefixCache?.Count ?? 0;

    /// <summary>Blocks of the key/value pool held by sequences and the prefix cache.</summary>
    public int PoolBlocksUsed => _pool.UsedBlocks;

    /// <summary>Counts of the work done so far (read from any thread).</summary>
    public EngineCounters Counters => _counters;

    /// <summary>Queues a request; false when the queue is full or closed.</summary>
    public bool TrySubmit(EngineRequest request)
    {
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }

        _wake.Set();
        return true;
    }

    /// <summary>Asks the core to look at the request's wishes (cancel, stop after N tokens) before its next step.</summary>
    public void Signal(EngineRequest request)
    {
        _control.Enqueue(request);
        _wake.Set();
    }

    /// <summary>Stops admitting; in-flight requests finish, unless <paramref name="abort"/> fires first.</summary>
    public async Task StopAsync(CancellationToken abort)
    {
        _queue.Writer.TryComplete();
        _wake.Set();
        using (abort.Register(() => { _abortAll = true; _wake.Set(); }))
        {
            await _exited.Task.ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        // Close the queue before aborting, so a request written concurrently is either drained (and failed) by the
        // engine thread or refused at the door, never left behind in a queue nobody reads.
        _queue.Writer.TryComplete();
        _abortAll = true;
        _wake.Set();
        _thread.Join();
        _wake.Dispose();
        _prefixCache?.Dispose();
        _pool.Dispose();
    }

    private void Run()
    {
        using var decoder = new RecurrentDecoder(_model, DepthAware, _pool)
        {
            BeforeRecurrence = rows => FaultInjection?.Invoke(rows),
            AfterReadout = (rows, logits) => LogitsInjection?.Invoke(rows, logits),
        };
        while (true)
        {
            ProcessControl(decoder);
            if (_abortAll)
            {
                foreach (var (sequence, request) in _active.ToList())
                {
                    Complete(decoder, sequence, request, FinishReason.Cancelled);
                }

                while (_queue.Reader.TryRead(out var waiting))
                {
                    Interlocked.Decrement(ref _queued);
                    waiting.Finish(new ModelNotReadyException("The model stopped before the request started."));
                }

                break;
            }

            Admit(decoder);
            if (_active.Count == 0)
            {
                if (_queue.Reader.Completion.IsCompleted)
                {
                    break;
                }

                _wake.Wait(TimeSpan.FromMilliseconds(200));
                _wake.Reset();
                continue;
            }

            StepOnce(decoder);
        }

        _exited.TrySetResult();
    }

    // Admits in queue order while the batch has room and the head's worst-case key/value bytes fit the budget; a head
    // that does not fit waits (no overtaking, so a large request is not starved) until running sequences free theirs.
    private void Admit(RecurrentDecoder decoder)
    {
        long budget = _options.KvCacheBudgetBytes;
        while (_active.Count < _options.MaxBatch && _queue.Reader.TryPeek(out var request))
        {
            if (!request.CancelRequested && budget > 0 && _active.Count > 0 && ReservedBytes + request.ReservedBytes > budget)
            {
                break;
            }

            _queue.Reader.TryRead(out _);
            Interlocked.Decrement(ref _queued);
            if (request.CancelRequested)
            {
                request.Finish(new OperationCanceledException("The request was cancelled before it started."));
                continue;
            }

            var reused = Reusable(request.Options) ? _prefixCache?.Take(request.Options.Prompt, request.Options.Cache) : null;
            try
            {
                var sequence = decoder.Add(request.Options, reused);
                request.Clock.Start();
                _active[sequence] = request;
                Interlocked.Add(ref _reservedBytes, request.ReservedBytes);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                reused?.Dispose();
                request.Finish(ex);
            }
        }

        Volatile.Write(ref _activeCount, _active.Count);
    }

    // Continuous compute starts each token from the previous token's latent, which a stored cache does not keep;
    // scripted initial states (parity runs) must see every position.
    private static bool Reusable(SequenceOptions options) => !options.Depth.ContinuousCompute && options.InitialStates is null;

    private void ProcessControl(RecurrentDecoder decoder)
    {
        while (_control.TryDequeue(out var request))
        {
            var sequence = _active.FirstOrDefault(kv => ReferenceEquals(kv.Value, request)).Key;
            if (sequence is null)
            {
                continue;
            }

            if (request.CancelRequested)
            {
                Complete(decoder, sequence, request, FinishReason.Cancelled);
            }
            else if (request.StopAfter >= 0)
            {
                Complete(decoder, sequence, request, FinishReason.Stop);
            }
        }
    }

    private void StepOnce(RecurrentDecoder decoder)
    {
        IReadOnlyList<TokenEvent> events;
        var before = EngineCounters.Read(decoder);
        try
        {
            events = decoder.Step();
        }
        catch (Exception ex)
        {
            // The decoder isolates failures per batch; an error here is outside any batch, so every active sequence fails.
            _logger.LogError(ex, "A decode step failed; failing the {Count} active sequences.", _active.Count);
            foreach (var (sequence, request) in _active.ToList())
            {
                Fail(decoder, sequence, request, ex);
            }

            return;
        }
        finally
        {
            _counters.Add(before, EngineCounters.Read(decoder));
        }

        foreach (var (sequence, request) in _active.Where(kv => kv.Key.Error is not null).ToList())
        {
            _logger.LogError(sequence.Error, "Request failed in the model and was removed; the engine keeps serving the others.");
            Fail(decoder, sequence, request, sequence.Error!);
        }

        foreach (var e in events)
        {
            if (!_active.TryGetValue(e.Sequence, out var request))
            {
                continue;
            }

            _counters.TokenGenerated();
            request.Events.Writer.TryWrite((e.Token, null));
            if (e.Sequence.Phase == SequencePhase.Finished)
            {
                Complete(decoder, e.Sequence, request, e.Sequence.FinishReason ?? FinishReason.Length);
            }
        }

        Volatile.Write(ref _activeCount, _active.Count);
    }

    private void Fail(RecurrentDecoder decoder, DecodeSequence sequence, EngineRequest request, Exception error)
    {
        _active.Remove(sequence);
        decoder.Remove(sequence);
        Interlocked.Add(ref _reservedBytes, -request.ReservedBytes);
        Volatile.Write(ref _activeCount, _active.Count);
        request.Finish(new InvalidOperationException($"Generation failed in the model: {error.Message}", error));
    }

    // Ends a sequence: a stop string asked for by the output side forgets the tokens after it; a sequence that ended
    // normally leaves its cache (exactly the positions it fed) to the prefix cache; the outcome goes to the request.
    private void Complete(RecurrentDecoder decoder, DecodeSequence sequence, EngineRequest request, FinishReason reason)
    {
        _active.Remove(sequence);
        Volatile.Write(ref _activeCount, _active.Count);
        Interlocked.Add(ref _reservedBytes, -request.ReservedBytes);
        if (reason == FinishReason.Cancelled && request.CancelRequested)
        {
            decoder.Remove(sequence);
            request.Finish(new OperationCanceledException("The request was cancelled."));
            return;
        }

        var tokens = sequence.Tokens;
        // Positions the model has fed: the prompt and every generated token but the last, or up to the stop string's token.
        int fed = request.StopAfter >= 0
            ? Math.Min(sequence.Cache.Length, sequence.PromptTokens + request.StopAfter - 1)
            : sequence.Cache.Length;
        if (sequence.Cache.Length > fed)
        {
            sequence.Cache.Truncate(sequence.Cache.Length - fed);
        }

        var outcome = new SequenceOutcome(reason, sequence.PromptTokens, sequence.CachedPromptTokens, sequence.Cache.UsedBytes, sequence.Cache.BytesPerToken, request.Clock.Elapsed);
        var prefix = tokens.Take(fed).ToArray();
        sequence.Schedule.Phase = SequencePhase.Finished;
        // A sequence cut short by the engine stopping is not a finished conversation: its cache is not kept.
        bool keep = _prefixCache is not null && reason != FinishReason.Cancelled && Reusable(request.Options) && fed > 0;
        var kept = decoder.Release(sequence, keep);
        if (kept is not null)
        {
            _prefixCache!.Add(prefix, sequence.PromptTokens, kept);
        }

        request.Events.Writer.TryWrite((null, outcome));
        request.Finish(null);
    }
}
