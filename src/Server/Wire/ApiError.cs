using System.Text.Json.Serialization;

namespace RecurrentDepth.Server.Wire;

/// <summary>
/// An error as OpenAI reports it (<c>{"error":{"message","type","param","code"}}</c>) with its HTTP status; thrown
/// by the translator and the endpoints, written by <see cref="Endpoints.ErrorResults"/>.
/// </summary>
internal sealed class ApiError : Exception
{
    public ApiError(int status, string message, string type, string? param = null, string? code = null, int? retryAfterSeconds = null)
        : base(message) => (Status, Type, Param, Code, RetryAfterSeconds) = (status, type, param, code, retryAfterSeconds);

    public ApiError() : base("Unknown error.") => Type = ServerError;

    public ApiError(string message) : base(message) => Type = ServerError;

    public ApiError(string message, Exception innerException) : base(message, innerException) => Type = ServerError;

    public const string InvalidRequest = "invalid_request_error";
    public const string Authentication = "authentication_error";
    public const string NotFound = "not_found_error";
    public const string RateLimit = "rate_limit_error";
    public const string ServerError = "server_error";
    public const string Unavailable = "service_unavailable";

    /// <summary>HTTP status code.</summary>
    public int Status { get; } = 500;

    /// <summary>OpenAI error type, e.g. invalid_request_error.</summary>
    public string Type { get; }

    /// <summary>The request field at fault, when one is.</summary>
    public string? Param { get; }

    /// <summary>A machine-readable code.</summary>
    public string? Code { get; }

    /// <summary>Seconds for the <c>Retry-After</c> header, when the caller should retry.</summary>
    public int? RetryAfterSeconds { get; }

    /// <summary>400 naming <paramref name="param"/>.</summary>
    public static ApiError BadRequest(string param, string message, string code = "invalid_value") =>
        new(StatusCodes.Status400BadRequest, message, InvalidRequest, param, code);

    public ErrorEnvelope ToEnvelope() => new(new ErrorBody(Message, Type, Param, Code));
}

/// <summary>The JSON body of an error response.</summary>
internal sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody Error);

/// <summary>The <c>error</c> object; <c>param</c> and <c>code</c> are written as null when absent, as OpenAI does.</summary>
internal sealed record ErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
