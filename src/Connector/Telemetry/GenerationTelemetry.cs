using System.Diagnostics;
using System.Diagnostics.Metrics;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;

namespace RecurrentDepth.SemanticKernel;

/// <summary>The connector's ActivitySource and instruments (process-wide, like every .NET library's).</summary>
internal static class GenerationTelemetry
{
    public static readonly ActivitySource Source = new(RecurrentDepthTelemetry.SourceName, typeof(GenerationTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Meter Meter = new(RecurrentDepthTelemetry.MeterName, typeof(GenerationTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>(
        "gen_ai.client.token.usage", "{token}", "Input and output tokens per request.",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536] });

    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>(
        "gen_ai.client.operation.duration", "s", "Duration of a chat request, submission to last token.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });

    public static readonly Histogram<int> StepsPerToken = Meter.CreateHistogram<int>(
        "recurrent_depth.steps_per_token", "{step}", "Recurrence steps each generated token ran.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128] });

    public static readonly Histogram<double> TokensPerSecond = Meter.CreateHistogram<double>(
        "recurrent_depth.output_tokens_per_second", "{token}/s", "Generated tokens per second of engine time, per request.");

    public static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>(
        "recurrent_depth.effort_fallbacks", "{request}", "Requests served at a lower effort than asked.");

    private static readonly List<WeakReference<IInferenceEngine>> Engines = [];

    static GenerationTelemetry() =>
        Meter.CreateObservableGauge("recurrent_depth.queue.length", ObserveQueues, "{request}", "Requests waiting for admission, per model.");

    /// <summary>Adds an engine to the queue-length gauge (held weakly).</summary>
    public static void Track(IInferenceEngine engine)
    {
        lock (Engines)
        {
            Engines.RemoveAll(w => !w.TryGetTarget(out _));
            if (!Engines.Exists(w => w.TryGetTarget(out var e) && ReferenceEquals(e, engine)))
            {
                Engines.Add(new WeakReference<IInferenceEngine>(engine));
            }
        }
    }

    private static IEnumerable<Measurement<int>> ObserveQueues()
    {
        List<IInferenceEngine> live = [];
        lock (Engines)
        {
            foreach (var w in Engines)
            {
                if (w.TryGetTarget(out var e))
                {
                    live.Add(e);
                }
            }
        }

        return live.Select(e => new Measurement<int>(e.QueueLength, new KeyValuePair<string, object?>("gen_ai.request.model", e.ModelId)));
    }

    public static Activity? StartGenerate(string modelId, RequestPlan plan, int queueLength)
    {
        var activity = Source.StartActivity($"{RecurrentDepthTelemetry.GenerateActivityName} {modelId}", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            var request = plan.Request;
            activity.SetTag("gen_ai.operation.name", "chat")
                .SetTag("gen_ai.provider.name", RecurrentDepthTelemetry.ProviderName)
                .SetTag("gen_ai.system", RecurrentDepthTelemetry.ProviderName)
                .SetTag("gen_ai.request.model", modelId)
                .SetTag("gen_ai.request.max_tokens", request.MaxNewTokens)
                .SetTag("gen_ai.request.temperature", request.Sampling.Temperature)
                .SetTag("gen_ai.request.top_p", request.Sampling.TopP)
                .SetTag("recurrent_depth.request.max_steps", request.Depth.MaxSteps)
                .SetTag("recurrent_depth.request.min_steps", request.Depth.MinSteps)
                .SetTag("recurrent_depth.request.exit_criterion", request.Depth.Criterion.ToReferenceName())
                .SetTag("recurrent_depth.depth_source", plan.Source.ToString())
                .SetTag("recurrent_depth.queue.length", queueLength);
            if (request.Sampling.TopK > 0)
            {
                activity.SetTag("gen_ai.request.top_k", request.Sampling.TopK);
            }

            if (request.Seed is long seed)
            {
                activity.SetTag("gen_ai.request.seed", seed);
            }

            if (plan.Effort is { } effort)
            {
                activity.SetTag("recurrent_depth.request.thinking_effort", ThinkingEffortNames.ToSettingValue(effort));
            }
        }

        return activity;
    }

    public static void RecordToken(GeneratedToken token, string modelId) =>
        StepsPerToken.Record(token.Steps, new KeyValuePair<string, object?>("gen_ai.request.model", modelId));

    public static void RecordSuccess(Activity? activity, GenerationOutcome outcome, double seconds)
    {
        var s = outcome.Summary;
        var common = CommonTags(outcome.ModelId);
        TokenUsage.Record(s.InputTokens, [.. common, new("gen_ai.token.type", "input")]);
        TokenUsage.Record(s.OutputTokens, [.. common, new("gen_ai.token.type", "output")]);
        OperationDuration.Record(seconds, common);
        TokensPerSecond.Record(s.TokensPerSecond, common);
        if (outcome.FallbackLevels > 0)
        {
            Fallbacks.Add(1, [.. common, new("recurrent_depth.fallback_reason", outcome.FallbackReason)]);
        }

        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.response.model", outcome.ModelId)
                .SetTag("gen_ai.response.finish_reasons", new[] { outcome.FinishReasonText })
                .SetTag("gen_ai.usage.input_tokens", s.InputTokens)
                .SetTag("gen_ai.usage.output_tokens", s.OutputTokens)
                .SetTag("recurrent_depth.max_steps", outcome.Applied.MaxSteps)
                .SetTag("recurrent_depth.exit_criterion", outcome.Applied.Criterion.ToReferenceName())
                .SetTag("recurrent_depth.mean_steps", s.MeanSteps)
                .SetTag("recurrent_depth.max_steps_observed", s.MaxSteps)
                .SetTag("recurrent_depth.cap_hit_share", s.CapHitShare)
                .SetTag("recurrent_depth.effective_flops", s.EffectiveFlops)
                .SetTag("recurrent_depth.output_tokens_per_second", s.TokensPerSecond)
                .SetTag("recurrent_depth.fallback_levels", outcome.FallbackLevels)
                .SetTag("recurrent_depth.unconverged_share", s.UnconvergedShare);
            if (s.MaxExitValue is double worst)
            {
                activity.SetTag("recurrent_depth.max_exit_value", worst);
            }

            if (outcome.FallbackReason is not null)
            {
                activity.SetTag("recurrent_depth.fallback_reason", outcome.FallbackReason);
            }
        }
    }

    public static void RecordFailure(Activity? activity, Exception error, string modelId, double seconds)
    {
        var errorType = error.GetType().FullName ?? error.GetType().Name;
        OperationDuration.Record(seconds, [.. CommonTags(modelId), new("error.type", errorType)]);
        if (activity is not null)
        {
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
        }
    }

    private static KeyValuePair<string, object?>[] CommonTags(string modelId) =>
    [
        new("gen_ai.operation.name", "chat"),
        new("gen_ai.provider.name", RecurrentDepthTelemetry.ProviderName),
        new("gen_ai.request.model", modelId),
        new("gen_ai.response.model", modelId),
    ];
}
