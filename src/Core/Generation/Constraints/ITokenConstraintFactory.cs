namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// Compiles a request's <see cref="OutputConstraint"/> into the per-sequence grammar state the engine masks logits
/// with. Register one on the engine (<see cref="Engine.InferenceEngine.ConstraintFactory"/>) to serve requests that
/// carry a constraint; without one such requests are rejected with <see cref="NotSupportedException"/>.
/// </summary>
public interface ITokenConstraintFactory
{
    /// <summary>
    /// Creates a fresh grammar state for one response. Called once per request on the caller's thread, at submission.
    /// </summary>
    /// <param name="constraint">The request's constraint.</param>
    /// <param name="vocabSize">Size of the model's vocabulary (the bitmask covers ids 0 .. vocabSize − 1).</param>
    /// <exception cref="ArgumentException">The constraint is malformed (e.g. an invalid schema or pattern).</exception>
    ITokenConstraint Create(OutputConstraint constraint, int vocabSize);

    /// <summary>
    /// Creates a fresh grammar state for a response of at most <paramref name="tokenBudget"/> tokens. A factory that
    /// knows the budget keeps every output completable within it (the value closes before the tokens run out); the
    /// default ignores it.
    /// </summary>
    /// <param name="constraint">The request's constraint.</param>
    /// <param name="vocabSize">Size of the model's vocabulary.</param>
    /// <param name="tokenBudget">Tokens the response may take (the request's limit, or what the context leaves).</param>
    /// <exception cref="ArgumentException">The constraint is malformed or cannot be met within the budget.</exception>
    ITokenConstraint Create(OutputConstraint constraint, int vocabSize, int tokenBudget) => Create(constraint, vocabSize);
}
