namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// The grammar state of one sequence under constrained decoding: which token ids may come next, advanced token by
/// token. Tensor-free; the engine turns the allowed sets of all constrained rows of a step into one mask tensor and
/// applies it to the logits before sampling (greedy and sampled alike). Owned by one sequence, used on the engine
/// thread only.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>
    /// Writes the set of token ids allowed next as a bitmask: bit <c>i % 64</c> of <c>words[i / 64]</c> is set when
    /// token <c>i</c> is allowed. <paramref name="words"/> has <c>ceil(vocabSize / 64)</c> words, cleared by the caller.
    /// End-of-turn tokens are allowed exactly when the output so far is a complete value.
    /// </summary>
    void WriteAllowed(Span<ulong> words);

    /// <summary>Advances past <paramref name="tokenId"/>, which must have been allowed.</summary>
    /// <exception cref="InvalidOperationException">The token was not allowed in this state.</exception>
    void Accept(int tokenId);

    /// <summary>True when the output so far is a complete value (ending the turn now would be valid).</summary>
    bool IsComplete { get; }
}
