namespace RecurrentDepth.Training;

/// <summary>How the model is taught to answer: in latent space (the digit at once) or by writing the running values.</summary>
public enum AnswerFormat
{
    /// <summary>The answer digit is the first generated token; the work happens in the recurrence (the micro model).</summary>
    Latent,

    /// <summary>
    /// Chain of thought in tokens: the model writes the running value after each operation, one digit per operation,
    /// and the last digit it writes is the answer (<c>3+7*9+3=</c> → <c>003</c>, then end of turn).
    /// </summary>
    ChainOfThought,
}

/// <summary>A tokenised training sequence: input ids, a target per input position, and where the answer is predicted.</summary>
/// <param name="Ids">Prompt and (teacher-forced) response tokens.</param>
/// <param name="Labels">Target per position of <see cref="Ids"/> (<see cref="ArithmeticTask.IgnoreLabel"/> = none).</param>
/// <param name="AnswerPosition">The position whose next-token target is the answer digit.</param>
public sealed record TokenizedSequence(IReadOnlyList<int> Ids, IReadOnlyList<int> Labels, int AnswerPosition);

/// <summary>Builds training sequences of either <see cref="AnswerFormat"/> from the same problems and chat template.</summary>
public static class ChainOfThoughtFormat
{
    /// <summary>The response the chain-of-thought model is taught to write: one running-value digit per operation.</summary>
    public static string Response(ArithmeticProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        // RunningValues holds the value after each character: the operator repeats the value before it, the constant
        // gives the value after the operation. Those after each constant are the chain of thought.
        return string.Concat(Enumerable.Range(0, problem.Difficulty).Select(i => (char)('0' + problem.RunningValues[2 + 2 * i])));
    }

    /// <summary>Reads the answer from a chain-of-thought response: its last digit; null when it has none.</summary>
    public static int? AnswerOf(string response)
    {
        ArgumentNullException.ThrowIfNull(response);
        for (int i = response.Length - 1; i >= 0; i--)
        {
            if (char.IsAsciiDigit(response[i]))
            {
                return response[i] - '0';
            }
        }

        return null;
    }

    /// <summary>The sequence of <paramref name="problem"/> in <paramref name="format"/>.</summary>
    public static TokenizedSequence Tokenize(ArithmeticProblem problem, TaskTokenizer tokenizer, AnswerFormat format)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var latent = ArithmeticTask.Tokenize(problem, tokenizer);
        if (format == AnswerFormat.Latent)
        {
            return new TokenizedSequence([.. latent.PromptIds, latent.AnswerId], latent.Labels, latent.PromptIds.Count - 1);
        }

        // Same prompt and the same dense labels on the chain's characters; after '=' only the real next-token targets.
        var response = Response(problem).Select(c => tokenizer.DigitId(c - '0')).ToList();
        int prompt = latent.PromptIds.Count;
        int chainEnd = latent.ChainStart + problem.RunningValues.Count;
        var labels = new int[prompt + response.Count];
        for (int i = 0; i < prompt; i++)
        {
            labels[i] = i < chainEnd ? latent.Labels[i] : ArithmeticTask.IgnoreLabel;
        }

        labels[prompt - 1] = response[0];
        for (int i = 0; i < response.Count; i++)
        {
            labels[prompt + i] = i + 1 < response.Count ? response[i + 1] : tokenizer.EndTurnId;
        }

        int answerPosition = prompt - 1 + response.Count - 1;
        return new TokenizedSequence([.. latent.PromptIds, .. response], labels, answerPosition);
    }
}
