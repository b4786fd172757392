using System.Collections.ObjectModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.SemanticKernel;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Semantic Kernel execution settings of a recurrent-depth model. Every property is optional; unset ones fall back to
/// <see cref="RecurrentDepthOptions"/>. JSON names are snake_case, so prompt templates, <c>ExtensionData</c> and
/// OpenAI-style settings (<c>reasoning_effort</c>, <c>max_tokens</c>, ...) carry over unchanged
/// (<see cref="FromExecutionSettings"/>).
/// </summary>
/// <remarks>
/// Depth precedence, highest first: <see cref="RecurrenceSteps"/> &gt; <see cref="ThinkingEffort"/> &gt;
/// <see cref="ReasoningEffort"/> &gt; <see cref="RecurrentDepthOptions.DefaultEffort"/>. <see cref="ExitCriterion"/>,
/// <see cref="ExitThreshold"/> and <see cref="MinRecurrenceSteps"/> then override the chosen profile's fields.
/// Values are validated when a request is made; errors are <see cref="ArgumentException"/>s whose
/// <see cref="ArgumentException.ParamName"/> is the setting's JSON name.
/// </remarks>
public sealed class RecurrentDepthPromptExecutionSettings : PromptExecutionSettings
{
    private ThinkingEffort? _thinkingEffort;
    private string? _reasoningEffort;
    private int? _recurrenceSteps;
    private int? _minRecurrenceSteps;
    private string? _exitCriterion;
    private double? _exitThreshold;
    private bool? _continuousCompute;
    private string? _cacheStrategy;
    private double? _temperature;
    private double? _topP;
    private int? _topK;
    private double? _minP;
    private double? _repetitionPenalty;
    private int? _maxTokens;
    private long? _seed;
    private IList<string>? _stopSequences;
    private bool? _ignoreEndOfTurn;

    /// <summary>
    /// Latent compute per token as an effort level (<c>thinking_effort</c>): none, minimal, low, medium, high, xhigh,
    /// adaptive. Overridden by <see cref="RecurrenceSteps"/>; overrides <see cref="ReasoningEffort"/>.
    /// </summary>
    [JsonPropertyName("thinking_effort")]
    public ThinkingEffort? ThinkingEffort
    {
        get => _thinkingEffort;
        set => Set(ref _thinkingEffort, value);
    }

    /// <summary>
    /// OpenAI-style alias (<c>reasoning_effort</c>), so settings written for reasoning models work unchanged; same
    /// spellings as <see cref="ThinkingEffort"/>, which wins when both are set.
    /// </summary>
    [JsonPropertyName("reasoning_effort")]
    [JsonConverter(typeof(LenientStringJsonConverter))]
    public string? ReasoningEffort
    {
        get => _reasoningEffort;
        set => Set(ref _reasoningEffort, value);
    }

    /// <summary>
    /// Explicit recurrence cap per token (<c>recurrence_steps</c>, 1 to <see cref="RecurrentDepthOptions.MaxRecurrenceSteps"/>,
    /// default 128); overrides any effort. Fixed depth unless <see cref="ExitCriterion"/> is also set.
    /// </summary>
    [JsonPropertyName("recurrence_steps")]
    public int? RecurrenceSteps
    {
        get => _recurrenceSteps;
        set => Set(ref _recurrenceSteps, value);
    }

    /// <summary>Steps every token runs before the exit criterion is checked (<c>min_recurrence_steps</c>, 0..max).</summary>
    [JsonPropertyName("min_recurrence_steps")]
    public int? MinRecurrenceSteps
    {
        get => _minRecurrenceSteps;
        set => Set(ref _minRecurrenceSteps, value);
    }

    /// <summary>
    /// Early-exit criterion (<c>exit_criterion</c>): none, kl, minp-kl, entropy-diff, latent-diff, cosine,
    /// argmax-stability. Overrides the profile's.
    /// </summary>
    [JsonPropertyName("exit_criterion")]
    public string? ExitCriterion
    {
        get => _exitCriterion;
        set => Set(ref _exitCriterion, value);
    }

    /// <summary>Threshold of the exit criterion (<c>exit_threshold</c>, finite, ≥ 0). Overrides the profile's.</summary>
    [JsonPropertyName("exit_threshold")]
    public double? ExitThreshold
    {
        get => _exitThreshold;
        set => Set(ref _exitThreshold, value);
    }

    /// <summary>Warm start each token from the previous token's latent (<c>continuous_compute</c>). Default false.</summary>
    [JsonPropertyName("continuous_compute")]
    public bool? ContinuousCompute
    {
        get => _continuousCompute;
        set => Set(ref _continuousCompute, value);
    }

    /// <summary>KV-cache strategy (<c>cache_strategy</c>), e.g. full, latest-m4, compress-s16. Default: the engine's.</summary>
    [JsonPropertyName("cache_strategy")]
    public string? CacheStrategy
    {
        get => _cacheStrategy;
        set => Set(ref _cacheStrategy, value);
    }

    /// <summary>Sampling temperature (<c>temperature</c>, ≥ 0); 0 is greedy. Default 0.</summary>
    [JsonPropertyName("temperature")]
    public double? Temperature
    {
        get => _temperature;
        set => Set(ref _temperature, value);
    }

    /// <summary>Nucleus sampling mass (<c>top_p</c>, in (0, 1]). Default 1 (off).</summary>
    [JsonPropertyName("top_p")]
    public double? TopP
    {
        get => _topP;
        set => Set(ref _topP, value);
    }

    /// <summary>Keep the k most probable tokens (<c>top_k</c>, ≥ 0). Default 0 (off).</summary>
    [JsonPropertyName("top_k")]
    public int? TopK
    {
        get => _topK;
        set => Set(ref _topK, value);
    }

    /// <summary>Drop tokens below min_p × the top probability (<c>min_p</c>, in [0, 1]). Default 0 (off).</summary>
    [JsonPropertyName("min_p")]
    public double? MinP
    {
        get => _minP;
        set => Set(ref _minP, value);
    }

    /// <summary>Penalty on already-seen tokens (<c>repetition_penalty</c>, &gt; 0). Default 1 (off).</summary>
    [JsonPropertyName("repetition_penalty")]
    public double? RepetitionPenalty
    {
        get => _repetitionPenalty;
        set => Set(ref _repetitionPenalty, value);
    }

    /// <summary>
    /// Most tokens to generate (<c>max_tokens</c>, ≥ 1). Default <see cref="RecurrentDepthOptions.DefaultMaxTokens"/>.
    /// A value beyond the room left in the context is clamped: generation stops at the context limit with finish
    /// reason <c>length</c>.
    /// </summary>
    [JsonPropertyName("max_tokens")]
    public int? MaxTokens
    {
        get => _maxTokens;
        set => Set(ref _maxTokens, value);
    }

    /// <summary>Seed of sampling and of the random initial states (<c>seed</c>); unset draws one.</summary>
    [JsonPropertyName("seed")]
    public long? Seed
    {
        get => _seed;
        set => Set(ref _seed, value);
    }

    /// <summary>Extra stop strings (<c>stop_sequences</c>); generation ends before the first one. An empty string is an error.</summary>
    [JsonPropertyName("stop_sequences")]
    public IList<string>? StopSequences
    {
        get => _stopSequences;
        set => Set(ref _stopSequences, value);
    }

    /// <summary>
    /// Keep generating through end-of-turn tokens until <see cref="MaxTokens"/> (<c>ignore_eos</c>, as vLLM names it;
    /// for benchmarks and load tests). Stop sequences still apply. Default false.
    /// </summary>
    [JsonPropertyName("ignore_eos")]
    public bool? IgnoreEndOfTurn
    {
        get => _ignoreEndOfTurn;
        set => Set(ref _ignoreEndOfTurn, value);
    }

    /// <inheritdoc />
    public override void Freeze()
    {
        if (IsFrozen)
        {
            return;
        }

        base.Freeze();
        if (_stopSequences is not null)
        {
            _stopSequences = new ReadOnlyCollection<string>([.. _stopSequences]);
        }
    }

    /// <inheritdoc />
    public override PromptExecutionSettings Clone() => new RecurrentDepthPromptExecutionSettings
    {
        ModelId = ModelId,
        ServiceId = ServiceId,
        FunctionChoiceBehavior = FunctionChoiceBehavior,
        ExtensionData = ExtensionData is null ? null : new Dictionary<string, object>(ExtensionData),
        ThinkingEffort = ThinkingEffort,
        ReasoningEffort = ReasoningEffort,
        RecurrenceSteps = RecurrenceSteps,
        MinRecurrenceSteps = MinRecurrenceSteps,
        ExitCriterion = ExitCriterion,
        ExitThreshold = ExitThreshold,
        ContinuousCompute = ContinuousCompute,
        CacheStrategy = CacheStrategy,
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        MinP = MinP,
        RepetitionPenalty = RepetitionPenalty,
        MaxTokens = MaxTokens,
        Seed = Seed,
        StopSequences = StopSequences is null ? null : [.. StopSequences],
        IgnoreEndOfTurn = IgnoreEndOfTurn,
    };

    /// <summary>
    /// Converts any settings to recurrent-depth settings: returns <paramref name="executionSettings"/> itself when it
    /// already is one, else reads its JSON form, so <c>ExtensionData</c> keys (<c>thinking_effort</c>,
    /// <c>recurrence_steps</c>, ...) and the snake_case properties of other connectors' settings (OpenAI's
    /// <c>reasoning_effort</c>, <c>max_tokens</c>, <c>temperature</c>, <c>top_p</c>, <c>seed</c>,
    /// <c>stop_sequences</c>) are picked up. An effort given as an object (OpenAI's <c>ChatReasoningEffortLevel</c>,
    /// MEAI's <c>ReasoningEffort</c>, any value whose string form is an effort) is read by its string form. Null gives
    /// empty settings.
    /// </summary>
    /// <exception cref="ArgumentException">A value has the wrong type or an unknown spelling; <see cref="ArgumentException.ParamName"/> is the setting.</exception>
    public static RecurrentDepthPromptExecutionSettings FromExecutionSettings(PromptExecutionSettings? executionSettings)
    {
        switch (executionSettings)
        {
            case null:
                return new RecurrentDepthPromptExecutionSettings();
            case RecurrentDepthPromptExecutionSettings settings:
                return settings;
        }

        var json = EffortSettingValues.ToJsonObject(executionSettings, SettingsJson.Write).ToJsonString(SettingsJson.Write);
        var converted = FromJson(json);
        converted.ModelId ??= executionSettings.ModelId;
        converted.ServiceId ??= executionSettings.ServiceId;
        converted.FunctionChoiceBehavior ??= executionSettings.FunctionChoiceBehavior;
        return converted;
    }

    internal static RecurrentDepthPromptExecutionSettings FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<RecurrentDepthPromptExecutionSettings>(json, SettingsJson.Read) ?? new();
        }
        catch (JsonException ex)
        {
            var setting = SettingsJson.SettingName(ex.Path);
            var detail = ex.Message.StartsWith(setting, StringComparison.Ordinal) || ex.Message.Contains("accepted values", StringComparison.Ordinal)
                ? ex.Message
                : $"Setting '{setting}' has a value of the wrong type or format: {ex.Message}";
            throw new ArgumentException(detail, setting, ex);
        }
    }

    private void Set<T>(ref T field, T value)
    {
        ThrowIfFrozen();
        field = value;
    }
}
