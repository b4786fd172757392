namespace RecurrentDepth.Server.Hosting;

/// <summary>
/// Limits and security settings of the OpenAI-compatible server, bound from the configuration section
/// <c>Server</c> (<see cref="SectionName"/>). The model and its chat defaults are configured in the
/// <c>RecurrentDepth</c> section. Validated when the host starts; messages name the option.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>The configuration section the options are read from: <c>Server</c>.</summary>
    public const string SectionName = "Server";

    /// <summary>
    /// Accepted API keys. Empty (default): no key is required. When any is set, every <c>/v1</c> route requires
    /// <c>Authorization: Bearer &lt;key&gt;</c> and answers 401 otherwise. Health routes stay open for probes.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Largest request body in bytes; a larger one is answered 413. Default 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Most messages in one chat request. Default 256.</summary>
    public int MaxMessages { get; set; } = 256;

    /// <summary>Largest <c>max_tokens</c> / <c>max_completion_tokens</c> a request may ask for. Default 4096.</summary>
    public int MaxTokens { get; set; } = 4096;

    /// <summary>Largest <c>recurrence_steps</c> a request may ask for (efforts stay within their profiles). Default 64.</summary>
    public int MaxRecurrenceSteps { get; set; } = 64;

    /// <summary>Seconds sent in <c>Retry-After</c> with a 429 (queue full) or a 503 (model loading). Default 1.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Every invalid option with a message naming it (empty when all are valid).</summary>
    public IEnumerable<string> Problems()
    {
        const string S = SectionName;
        if (MaxRequestBodyBytes < 1024)
        {
            yield return $"{S}:MaxRequestBodyBytes must be at least 1024 (got {MaxRequestBodyBytes}).";
        }

        if (MaxMessages < 1)
        {
            yield return $"{S}:MaxMessages must be at least 1 (got {MaxMessages}).";
        }

        if (MaxTokens < 1)
        {
            yield return $"{S}:MaxTokens must be at least 1 (got {MaxTokens}).";
        }

        if (MaxRecurrenceSteps < 1)
        {
            yield return $"{S}:MaxRecurrenceSteps must be at least 1 (got {MaxRecurrenceSteps}).";
        }

        if (RetryAfterSeconds < 0)
        {
            yield return $"{S}:RetryAfterSeconds must be ≥ 0 (got {RetryAfterSeconds}).";
        }

        if (ApiKeys.Any(string.IsNullOrWhiteSpace))
        {
            yield return $"{S}:ApiKeys must not contain empty keys.";
        }
    }
}
