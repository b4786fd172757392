using System.Diagnostics;
using System.Runtime.CompilerServices;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using RecurrentDepth.Engine;

namespace RecurrentDepth.SemanticKernel;

/// <summary>One piece of a response as both surfaces consume it; <see cref="Outcome"/> is set on the last one only.</summary>
internal sealed record GenerationStep(string TextDelta, GeneratedToken? Token, GenerationOutcome? Outcome);

/// <summary>
/// Runs a mapped request on the engine with the connector's resilience and telemetry. Only the start of a request
/// (admission, prefill, first token) runs inside the Polly pipeline: there a full queue or a missed first-token deadline
/// may fall back to a lower effort (when enabled). Once a token has been produced nothing is retried; the whole-request
/// deadline (<see cref="RecurrentDepthOptions.RequestTimeout"/>) still applies.
/// </summary>
internal sealed class GenerationRunner
{
    private static readonly ResiliencePropertyKey<Run> RunKey = new("recurrent_depth.run");

    private readonly ResiliencePipeline _startPipeline;

    public GenerationRunner(IInferenceEngine engine, RecurrentDepthOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        RecurrentDepthOptionsValidator.ThrowIfInvalid(options);
        Engine = engine;
        Options = options;
        _startPipeline = BuildStartPipeline(options);
        GenerationTelemetry.Track(engine);
    }

    public IInferenceEngine Engine { get; }

    public RecurrentDepthOptions Options { get; }

    public async IAsyncEnumerable<GenerationStep> RunAsync(RequestPlan plan, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        cancellationToken.ThrowIfCancellationRequested();
        var run = new Run(this, plan, cancellationToken);
        try
        {
            await run.StartAsync().ConfigureAwait(false);
            while (await run.NextAsync().ConfigureAwait(false) is { } step)
            {
                yield return step;
            }
        }
        finally
        {
            await run.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static ResiliencePipeline BuildStartPipeline(RecurrentDepthOptions options)
    {
        var builder = new ResiliencePipelineBuilder { Name = "RecurrentDepth.Start" };
        if (options.EnableEffortFallback)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                Name = "EffortFallback",
                MaxRetryAttempts = 8,
                Delay = options.EffortFallbackDelay,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is EngineQueueFullException or TimeoutRejectedException &&
                    args.Context.Properties.TryGetValue(RunKey, out var run) && run.CanFallBack),
                OnRetry = static args =>
                {
                    if (args.Context.Properties.TryGetValue(RunKey, out var run))
                    {
                        run.FallBack(args.Outcome.Exception is EngineQueueFullException ? "queue_full" : "first_token_timeout");
                    }

                    return default;
                },
            });
        }

        var firstToken = options.FirstTokenTimeout ?? options.RequestTimeout;
        if (firstToken != Timeout.InfiniteTimeSpan && firstToken <= TimeSpan.FromDays(1))
        {
            builder.AddTimeout(new TimeoutStrategyOptions { Name = "FirstToken", Timeout = firstToken < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : firstToken });
        }

        return builder.Build();
    }

    /// <summary>The state of one request: its attempts, the live engine stream, and its telemetry.</summary>
    private sealed class Run(GenerationRunner runner, RequestPlan plan, CancellationToken callerToken) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _requestCts = CreateRequestCts(runner.Options.RequestTimeout, callerToken);
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly Activity? _activity = GenerationTelemetry.StartGenerate(runner.Engine.ModelId, plan, runner.Engine.QueueLength);
        private IAsyncEnumerator<GenerationUpdate>? _stream;
        private CancellationTokenSource? _attemptCts;
        private GenerationUpdate? _pending;
        private bool _ended;
        private int _level;
        private string? _fallbackReason;
        private int _tokens;

        public bool CanFallBack => _level < plan.Fallbacks.Count && !_requestCts.IsCancellationRequested;

        private Generation.DepthPolicy CurrentDepth => _level == 0 ? plan.Request.Depth : plan.Fallbacks[_level - 1].Depth;

        private ThinkingEffort? CurrentEffort => _level == 0 ? plan.Effort : plan.Fallbacks[_level - 1].Effort;

        private string ModelId => runner.Engine.ModelId;

        public void FallBack(string reason)
        {
            _level++;
            _fallbackReason = reason;
        }

        public async Task StartAsync()
        {
            var context = ResilienceContextPool.Shared.Get(_requestCts.Token);
            context.Properties.Set(RunKey, this);
            try
            {
                await runner._startPipeline.ExecuteAsync(static (ctx, run) => run.AttemptAsync(ctx.CancellationToken), context, this).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var seen = Fail(ex);
                if (ReferenceEquals(seen, ex))
                {
                    throw;
                }

                throw seen;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        private async ValueTask<bool> AttemptAsync(CancellationToken attemptToken)
        {
            var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(_requestCts.Token);
            var registration = attemptToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), attemptCts);
            IAsyncEnumerator<GenerationUpdate>? stream = null;
            try
            {
                stream = runner.Engine.GenerateAsync(plan.Request with { Depth = CurrentDepth }, attemptCts.Token).GetAsyncEnumerator(attemptCts.Token);
                bool any = await stream.MoveNextAsync().ConfigureAwait(false);
                await registration.DisposeAsync().ConfigureAwait(false);
                // A timeout that fired between the first token and unregistering has already cancelled this stream:
                // report it as the timeout it is, rather than hand the caller a stream that fails on its next read.
                attemptToken.ThrowIfCancellationRequested();
                (_stream, _attemptCts, _pending, _ended) = (stream, attemptCts, any ? stream.Current : null, !any);
                return true;
            }
            catch
            {
                await registration.DisposeAsync().ConfigureAwait(false);
                if (stream is not null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }

                attemptCts.Dispose();
                throw;
            }
        }

        public async ValueTask<GenerationStep?> NextAsync()
        {
            GenerationUpdate update;
            if (_pending is not null)
            {
                (update, _pending) = (_pending, null);
            }
            else
            {
                if (_ended || _stream is null)
                {
                    return null;
                }

                try
                {
                    if (!await _stream.MoveNextAsync().ConfigureAwait(false))
                    {
                        _ended = true;
                        return null;
                    }
                }
                catch (Exception ex)
                {
                    var seen = Fail(ex);
                    if (ReferenceEquals(seen, ex))
                    {
                        throw;
                    }

                    throw seen;
                }

                update = _stream.Current;
            }

            if (update.Token is { } token)
            {
                _tokens++;
                GenerationTelemetry.RecordToken(token, ModelId);
            }

            GenerationOutcome? outcome = null;
            if (update.Summary is { } summary)
            {
                _ended = true;
                outcome = new GenerationOutcome(summary, plan, CurrentEffort, _level, _fallbackReason, ModelId);
                GenerationTelemetry.RecordSuccess(_activity, outcome, Stopwatch.GetElapsedTime(_started).TotalSeconds);
            }

            return new GenerationStep(update.TextDelta, update.Token, outcome);
        }

        /// <summary>Records the failure once and returns what the caller should see (timeouts become <see cref="TimeoutException"/>).</summary>
        private Exception Fail(Exception error)
        {
            var translated = error switch
            {
                TimeoutRejectedException t => new TimeoutException(
                    $"Model '{ModelId}' produced no token within RecurrentDepth:FirstTokenTimeout ({t.Timeout}) at {CurrentDepth.MaxSteps} max recurrence steps" +
                    (_level > 0 ? $" (after falling back {_level} effort level(s))" : "") +
                    "; raise the timeout, lower the effort, or enable RecurrentDepth:EnableEffortFallback.", t),
                OperationCanceledException when _requestCts.IsCancellationRequested && !callerToken.IsCancellationRequested => new TimeoutException(
                    $"The request to model '{ModelId}' exceeded RecurrentDepth:RequestTimeout ({runner.Options.RequestTimeout}) after {_tokens} generated token(s).", error),
                _ => error,
            };
            GenerationTelemetry.RecordFailure(_activity, translated, ModelId, Stopwatch.GetElapsedTime(_started).TotalSeconds);
            return translated;
        }

        public async ValueTask DisposeAsync()
        {
            if (_stream is not null)
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
            }

            _attemptCts?.Dispose();
            _requestCts.Dispose();
            _activity?.Dispose();
        }

        private static CancellationTokenSource CreateRequestCts(TimeSpan timeout, CancellationToken callerToken)
        {
            var cts = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                cts.CancelAfter(timeout);
            }

            return cts;
        }
    }
}
