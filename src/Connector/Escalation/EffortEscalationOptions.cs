using Microsoft.Extensions.AI;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// How <see cref="EffortEscalatingChatClient"/> raises thinking effort: where it starts, how far it may go, and what
/// counts as a response that needs more latent compute.
/// </summary>
public sealed class EffortEscalationOptions
{
    /// <summary>The efforts in the order they are tried. Default: none, low, medium, high, xhigh.</summary>
    public IList<ThinkingEffort> Ladder { get; set; } =
        [ThinkingEffort.None, ThinkingEffort.Low, ThinkingEffort.Medium, ThinkingEffort.High, ThinkingEffort.ExtraHigh];

    /// <summary>The effort of the first attempt; must be on <see cref="Ladder"/>. Default <see cref="ThinkingEffort.None"/>.</summary>
    public ThinkingEffort StartEffort { get; set; } = ThinkingEffort.None;

    /// <summary>The highest effort tried (the ceiling); on <see cref="Ladder"/>, not below <see cref="StartEffort"/>. Default <see cref="ThinkingEffort.High"/>.</summary>
    public ThinkingEffort MaxEffort { get; set; } = ThinkingEffort.High;

    /// <summary>
    /// Escalate when the response's unconverged share (<see cref="RecurrenceMetadataKeys.UnconvergedShare"/>: the
    /// share 0..1 of generated tokens whose prediction had not settled) is above this. 0..1; default 0.1. A response
    /// that reports no share (another provider) never escalates on the signal, only on <see cref="Validator"/>.
    /// </summary>
    public double UnconvergedShareThreshold { get; set; } = 0.1;

    /// <summary>
    /// Optional check of each converged response (for example: does the answer parse, does it satisfy the task);
    /// returning false escalates. Runs only when the signal did not already ask for more effort. Default: none.
    /// </summary>
    public Func<ChatResponse, CancellationToken, ValueTask<bool>>? Validator { get; set; }

    /// <summary>
    /// When the inner client served an attempt below the effort asked for (its load fallback reported
    /// <see cref="RecurrenceMetadataKeys.FallbackLevels"/> &gt; 0), stop escalating and return that response: asking a
    /// loaded engine for more compute would fight the fallback. Default true.
    /// </summary>
    public bool StopWhenFallenBack { get; set; } = true;

    /// <summary>The efforts from <see cref="StartEffort"/> to <see cref="MaxEffort"/>, checked.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; <see cref="ArgumentException.ParamName"/> names it.</exception>
    internal IReadOnlyList<ThinkingEffort> Steps()
    {
        if (Ladder is null || Ladder.Count == 0)
        {
            throw new ArgumentException("EffortEscalationOptions.Ladder is empty: list the efforts to try, lowest first.", nameof(Ladder));
        }

        if (Ladder.Distinct().Count() != Ladder.Count || Ladder.Any(e => !Enum.IsDefined(e)))
        {
            throw new ArgumentException($"EffortEscalationOptions.Ladder ({string.Join(", ", Ladder)}) must list defined efforts, each once.", nameof(Ladder));
        }

        int start = Ladder.IndexOf(StartEffort);
        int max = Ladder.IndexOf(MaxEffort);
        if (start < 0)
        {
            throw new ArgumentException($"EffortEscalationOptions.StartEffort {StartEffort} is not on the ladder ({string.Join(", ", Ladder)}).", nameof(StartEffort));
        }

        if (max < start)
        {
            throw new ArgumentException(
                $"EffortEscalationOptions.MaxEffort {MaxEffort} must be on the ladder ({string.Join(", ", Ladder)}) at or above StartEffort {StartEffort}.", nameof(MaxEffort));
        }

        if (!(UnconvergedShareThreshold >= 0 && UnconvergedShareThreshold < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(UnconvergedShareThreshold), UnconvergedShareThreshold,
                "EffortEscalationOptions.UnconvergedShareThreshold must be in [0, 1): the share of unconverged tokens above which to escalate.");
        }

        return [.. Ladder.Skip(start).Take(max - start + 1)];
    }
}
