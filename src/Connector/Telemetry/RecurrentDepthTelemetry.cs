namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Names of the connector's telemetry. Subscribe with <c>AddSource(RecurrentDepthTelemetry.SourceName)</c> and
/// <c>AddMeter(RecurrentDepthTelemetry.MeterName)</c>. The spans describe the engine work of one request (kind
/// Internal, <see cref="GenerateActivityName"/>) and nest under MEAI's <c>UseOpenTelemetry()</c> client span when
/// that is in the pipeline, so the two compose instead of duplicating each other.
/// </summary>
/// <remarks>
/// Span tags follow the OpenTelemetry GenAI conventions (<c>gen_ai.operation.name</c> = chat,
/// <c>gen_ai.provider.name</c> and <c>gen_ai.system</c> = <see cref="ProviderName"/>, <c>gen_ai.request.model</c>,
/// <c>gen_ai.response.model</c>, <c>gen_ai.usage.input_tokens</c>, <c>gen_ai.usage.output_tokens</c>,
/// <c>gen_ai.response.finish_reasons</c>) plus <c>recurrent_depth.*</c> figures. Metrics:
/// <c>gen_ai.client.token.usage</c> ({token}), <c>gen_ai.client.operation.duration</c> (s),
/// <c>recurrent_depth.steps_per_token</c> ({step}, one value per generated token),
/// <c>recurrent_depth.output_tokens_per_second</c> ({token}/s), <c>recurrent_depth.effort_fallbacks</c> ({request})
/// and the observable gauge <c>recurrent_depth.queue.length</c> ({request}). MEAI's own meter reports client metrics
/// under the same GenAI names; subscribe to one of the two meters for those.
/// </remarks>
public static class RecurrentDepthTelemetry
{
    /// <summary>The ActivitySource name: <c>RecurrentDepth.SemanticKernel</c>.</summary>
    public const string SourceName = "RecurrentDepth.SemanticKernel";

    /// <summary>The Meter name: <c>RecurrentDepth.SemanticKernel</c>.</summary>
    public const string MeterName = "RecurrentDepth.SemanticKernel";

    /// <summary>The provider name reported in <c>gen_ai.provider.name</c> and <c>ChatClientMetadata.ProviderName</c>.</summary>
    public const string ProviderName = "recurrent_depth";

    /// <summary>Name of the span of one request's engine work.</summary>
    public const string GenerateActivityName = "recurrent_depth.generate";
}
