using System.Diagnostics;
using System.Diagnostics.Metrics;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// The telemetry of one client or service: its own <see cref="Meter"/> (disposed with it) whose queue gauge observes
/// its own engine, as MEAI's <c>OpenTelemetryChatClient</c> keeps a meter per instance, so instances (and tests)
/// never share state. The <see cref="ActivitySource"/> is the library's one, like every .NET library's.
/// </summary>
internal sealed class GenerationTelemetry : IDisposable
{
    public static readonly ActivitySource Source = new(RecurrentDepthTelemetry.SourceName, typeof(GenerationTelemetry).Assembly.GetName().Version?.ToString());

    private readonly Meter _meter;
    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<double> _operationDuration;
    private readonly Histogram<int> _stepsPerToken;
    private readonly Histogram<double> _tokensPerSecond;
    private readonly Counter<long> _fallbacks;

    public GenerationTelemetry(IInferenceEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _meter = new Meter(RecurrentDepthTelemetry.MeterName, typeof(GenerationTelemetry).Assembly.GetName().Version?.ToString());
        _tokenUsage = _meter.CreateHistogram<long>(
            "gen_ai.client.token.usage", "{token}", "Input and output tokens per request.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536] });
        _operationDuration = _meter.CreateHistogram<double>(
            "gen_ai.client.operation.duration", "s", "Duration of a chat request, submission to last token.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });
        _stepsPerToken = _meter.CreateHistogram<int>(
            "recurrent_depth.steps_per_token", "{step}", "Recurrence steps each generated token ran.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128] });
        _tokensPerSecond = _meter.CreateHistogram<double>(
            "recurrent_depth.output_tokens_per_second", "{token}/s", "Generated tokens per second of engine time, per request.");
        _fallbacks = _meter.CreateCounter<long>(
            "recurrent_depth.effort_fallbacks", "{request}", "Requests served at a lower effort than asked.");
        _meter.CreateObservableGauge(
            "recurrent_depth.queue.length",
            () => new Measurement<int>(engine.QueueLength, new KeyValuePair<string, object?>("gen_ai.request.model", engine.ModelId)),
            "{request}", "Requests waiting for admission, per model.");
    }

    public void Dispose() => _meter.Dispose();

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

    public void RecordToken(GeneratedToken token, string modelId) =>
        _stepsPerToken.Record(token.Steps, new KeyValuePair<string, object?>("gen_ai.request.model", modelId));

    public void RecordSuccess(Activity? activity, GenerationOutcome outcome, double seconds)
    {
        var s = outcome.Summary;
        var common = CommonTags(outcome.ModelId);
        _tokenUsage.Record(s.InputTokens, [.. common, new("gen_ai.token.type", "input")]);
        _tokenUsage.Record(s.OutputTokens, [.. common, new("gen_ai.token.type", "output")]);
        _operationDuration.Record(seconds, common);
        _tokensPerSecond.Record(s.TokensPerSecond, common);
        if (outcome.FallbackLevels > 0)
        {
            _fallbacks.Add(1, [.. common, new("recurrent_depth.fallback_reason", outcome.FallbackReason)]);
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

    public void RecordFailure(Activity? activity, Exception error, string modelId, double seconds)
    {
        var errorType = error.GetType().FullName ?? error.GetType().Name;
        _operationDuration.Record(seconds, [.. CommonTags(modelId), new("error.type", errorType)]);
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
