using RecurrentDepth.Generation;

namespace RecurrentDepth.Engine;

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>An end-of-turn/end-of-text token or a stop sequence.</summary>
    Stop,

    /// <summary><see cref="GenerationRequest.MaxNewTokens"/> or the context limit was reached.</summary>
    Length,

    /// <summary>The caller cancelled.</summary>
    Cancelled,
}

/// <summary>One generated token and the latent compute it took.</summary>
/// <param name="TokenId">Vocabulary id.</param>
/// <param name="Steps">Recurrence steps this token ran.</param>
/// <param name="ExitedEarly">True when the exit criterion fired; false when it ran to the cap.</param>
/// <param name="ExitValue">
/// How settled the prediction was when the token stopped recurring: the exit criterion's value at its last step
/// (KL between the last two steps' next-token distributions for fixed-depth requests). Null when not measured.
/// </param>
public sealed record GeneratedToken(int TokenId, int Steps, bool ExitedEarly, double? ExitValue = null);

/// <summary>
/// A piece of a streamed response: new text (possibly empty while a multi-byte character is incomplete) with the
/// token that produced it, or — last — the summary.
/// </summary>
/// <param name="TextDelta">Text to append; never a broken UTF-8 sequence.</param>
/// <param name="Token">The token behind this update; null on the final update.</param>
/// <param name="Summary">Set on the final update only.</param>
public sealed record GenerationUpdate(string TextDelta, GeneratedToken? Token, GenerationSummary? Summary = null);

/// <summary>Totals of one response, including the latent-compute figures users see.</summary>
public sealed record GenerationSummary
{
    /// <summary>Prompt tokens.</summary>
    public required int InputTokens { get; init; }

    /// <summary>Prompt tokens whose KV entries (every recurrence slot) were reused from the prefix cache, not prefilled.</summary>
    public int CachedInputTokens { get; init; }

    /// <summary>Generated tokens.</summary>
    public required int OutputTokens { get; init; }

    /// <summary>Recurrence steps summed over generated tokens (each token counts the steps of the call that produced it).</summary>
    public required long TotalSteps { get; init; }

    /// <summary>Generated tokens that ran to the step cap without the exit criterion firing.</summary>
    public required int CapHitTokens { get; init; }

    /// <summary>Mean recurrence steps per generated token.</summary>
    public double MeanSteps => OutputTokens == 0 ? 0 : (double)TotalSteps / OutputTokens;

    /// <summary>Most recurrence steps any generated token ran.</summary>
    public required int MaxSteps { get; init; }

    /// <summary>Share (0..1) of generated tokens that hit the step cap without the criterion firing; 1 for fixed depth.</summary>
    public double CapHitShare => OutputTokens == 0 ? 0 : (double)CapHitTokens / OutputTokens;

    /// <summary>Generated tokens whose <see cref="GeneratedToken.ExitValue"/> ended above the effort's threshold.</summary>
    public int UnconvergedTokens { get; init; }

    /// <summary>Share (0..1) of generated tokens that ended unconverged.</summary>
    public double UnconvergedShare => OutputTokens == 0 ? 0 : (double)UnconvergedTokens / OutputTokens;

    /// <summary>Largest <see cref="GeneratedToken.ExitValue"/> of the response; null when none was measured.</summary>
    public double? MaxExitValue { get; init; }

    /// <summary>Approximate forward FLOPs spent on the whole response (prompt and generated tokens).</summary>
    public required double EffectiveFlops { get; init; }

    /// <summary>Key/value cache bytes the sequence held at the end (all slots, entries actually written).</summary>
    public long KvCacheBytes { get; init; }

    /// <summary>Key/value cache bytes per token of the sequence (prompt and generated).</summary>
    public double KvBytesPerToken { get; init; }

    /// <summary>Why it ended.</summary>
    public required FinishReason FinishReason { get; init; }

    /// <summary>Wall time from admission to the last token.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Generated tokens per second of <see cref="Elapsed"/>.</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? OutputTokens / Elapsed.TotalSeconds : 0;

    /// <summary>The depth policy that was applied (after any fallback).</summary>
    public required DepthPolicy Depth { get; init; }
}
