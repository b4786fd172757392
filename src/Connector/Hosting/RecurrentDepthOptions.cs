namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Defaults of the chat services over a recurrent-depth model (effort, token limits, timeouts, fallback), bound from
/// the configuration section <c>RecurrentDepth</c> (<see cref="SectionName"/>) when the container has an
/// <c>IConfiguration</c>, then from <c>services.Configure&lt;RecurrentDepthOptions&gt;(...)</c>. The model itself
/// (path, device, batch, queue) is configured by the engine's own options in the same section. Validated when the
/// host starts; messages name the option.
/// </summary>
public sealed class RecurrentDepthOptions
{
    /// <summary>The configuration section the options are read from: <c>RecurrentDepth</c>.</summary>
    public const string SectionName = "RecurrentDepth";

    /// <summary>
    /// Effort used when a request names neither steps nor an effort; any spelling of
    /// <see cref="ThinkingEffortNames.AcceptedValues"/>. Default <c>medium</c>.
    /// </summary>
    public string DefaultEffort { get; set; } = "medium";

    /// <summary>The profile of each effort; defaults are the design table, each field can be overridden.</summary>
    public EffortProfiles EffortProfiles { get; set; } = new();

    /// <summary>
    /// Most recurrence steps per token a request may ask for (<c>recurrence_steps</c>) and any effort profile may use
    /// (<c>EffortProfiles:*:MaxSteps</c>); a request above it fails with an <see cref="ArgumentOutOfRangeException"/>
    /// naming <c>recurrence_steps</c>, so a service that passes settings through cannot be tied up by one request.
    /// Default 128, twice the largest default profile (64).
    /// </summary>
    public int MaxRecurrenceSteps { get; set; } = 128;

    /// <summary>
    /// Tokens generated when a request does not say (<c>max_tokens</c>). Default 512. A <c>max_tokens</c> beyond what
    /// the context has room for is not an error: generation stops at the context limit (the engine's
    /// <c>MaxContext</c> or the model's block size) with finish reason <c>length</c>, as when max_tokens is reached.
    /// </summary>
    public int DefaultMaxTokens { get; set; } = 512;

    /// <summary>
    /// Deadline of one whole request, from submission to its last token; <see cref="Timeout.InfiniteTimeSpan"/>
    /// disables it. A request past it fails with <see cref="TimeoutException"/>. Default 5 minutes.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Deadline for the first token of one attempt (admission, prefill and one decoded token); null (default) uses
    /// <see cref="RequestTimeout"/>. With <see cref="EnableEffortFallback"/> a missed deadline retries at a lower effort.
    /// </summary>
    public TimeSpan? FirstTokenTimeout { get; set; }

    /// <summary>
    /// When the engine's queue is full, or the first token misses <see cref="FirstTokenTimeout"/>, retry at the next
    /// lower effort (reported in the response's metadata) instead of failing. Never retries once a token was
    /// produced. Default false.
    /// </summary>
    public bool EnableEffortFallback { get; set; }

    /// <summary>Pause before a fallback attempt, giving the queue time to drain. Default 250 ms.</summary>
    public TimeSpan EffortFallbackDelay { get; set; } = TimeSpan.FromMilliseconds(250);
}
