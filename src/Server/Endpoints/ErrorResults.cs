using System.Globalization;
using RecurrentDepth.Engine;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Endpoints;

/// <summary>Maps failures to OpenAI-shaped errors with the right HTTP status, and writes them.</summary>
internal static class ErrorResults
{
    /// <summary>
    /// The error a caller sees for <paramref name="error"/>: 400 naming the field for invalid settings, 429 with
    /// Retry-After when the engine's queue is full, 503 when the model is not ready, 504 for a deadline, else 500
    /// (whose message does not leak internals).
    /// </summary>
    public static ApiError FromException(Exception error, int retryAfterSeconds) => error switch
    {
        ApiError api => api,
        ArgumentException argument => ApiError.BadRequest(argument.ParamName ?? "request", MessageWithoutParam(argument)),
        NotSupportedException notSupported => ApiError.BadRequest("request", notSupported.Message, "unsupported"),
        EngineQueueFullException full => new ApiError(StatusCodes.Status429TooManyRequests, full.Message, ApiError.RateLimit, null, "queue_full", retryAfterSeconds),
        ModelNotReadyException notReady => new ApiError(StatusCodes.Status503ServiceUnavailable, notReady.Message, ApiError.Unavailable, null, "model_not_ready", retryAfterSeconds),
        TimeoutException timeout => new ApiError(StatusCodes.Status504GatewayTimeout, timeout.Message, ApiError.ServerError, null, "timeout"),
        _ => new ApiError(StatusCodes.Status500InternalServerError, "The server failed to process the request; see its logs for the request id.", ApiError.ServerError, null, "internal_error"),
    };

    /// <summary>The 503 for an engine that is loading, failed to load, or stopped; null when it is serving.</summary>
    public static ApiError? NotServing(IInferenceEngine engine, int retryAfterSeconds) => engine.State switch
    {
        EngineState.Loading => new ApiError(StatusCodes.Status503ServiceUnavailable, $"Model '{engine.ModelId}' is loading; retry shortly.", ApiError.Unavailable, null, "model_loading", retryAfterSeconds),
        EngineState.Faulted => new ApiError(StatusCodes.Status503ServiceUnavailable, $"Model '{engine.ModelId}' failed to load: {engine.FailureReason}", ApiError.Unavailable, null, "model_failed"),
        EngineState.Stopped => new ApiError(StatusCodes.Status503ServiceUnavailable, $"Model '{engine.ModelId}' has stopped.", ApiError.Unavailable, null, "model_stopped"),
        _ => null,
    };

    public static Task WriteAsync(HttpContext context, ApiError error)
    {
        context.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is int seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        if (error.Status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return context.Response.WriteAsJsonAsync(error.ToEnvelope(), ServerJson.Write, context.RequestAborted);
    }

    // ArgumentException appends " (Parameter 'x')"; the param is reported in its own field.
    private static string MessageWithoutParam(ArgumentException error)
    {
        int cut = error.Message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return cut > 0 ? error.Message[..cut] : error.Message;
    }
}
