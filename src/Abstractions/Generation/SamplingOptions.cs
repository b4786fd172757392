namespace RecurrentDepth.Generation;

/// <summary>
/// How the next token is chosen from the logits, in the reference's order: repetition penalty → temperature →
/// softmax → top-k → top-p → min-p → renormalise → sample. Temperature 0 is greedy (argmax).
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Greedy decoding (argmax), the reference's default for demos and parity.</summary>
    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Softmax temperature; 0 (default) means greedy.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the k most probable tokens; 0 (default) disables.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of tokens whose probability reaches p, in (0, 1]; 1 (default) disables.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Drop tokens below min_p × the top probability, in [0, 1]; 0 (default) disables.</summary>
    public double MinP { get; init; }

    /// <summary>Divide positive (multiply negative) logits of already-seen tokens by this; 1 (default) disables.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Whether this is greedy decoding.</summary>
    public bool IsGreedy => Temperature == 0;

    /// <summary>Checks every field and throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    /// <returns>This instance.</returns>
    public SamplingOptions Validate()
    {
        if (Temperature < 0 || !double.IsFinite(Temperature))
        {
            throw new ArgumentOutOfRangeException("temperature", Temperature, "temperature must be a finite number ≥ 0 (0 = greedy).");
        }

        if (TopK < 0)
        {
            throw new ArgumentOutOfRangeException("top_k", TopK, "top_k must be ≥ 0 (0 = disabled).");
        }

        if (!(TopP > 0 && TopP <= 1))
        {
            throw new ArgumentOutOfRangeException("top_p", TopP, "top_p must be in (0, 1].");
        }

        if (!(MinP >= 0 && MinP <= 1))
        {
            throw new ArgumentOutOfRangeException("min_p", MinP, "min_p must be in [0, 1].");
        }

        if (!(RepetitionPenalty > 0) || !double.IsFinite(RepetitionPenalty))
        {
            throw new ArgumentOutOfRangeException("repetition_penalty", RepetitionPenalty, "repetition_penalty must be a finite number > 0 (1 = disabled).");
        }

        return this;
    }
}
