using static TorchSharp.torch;

namespace RecurrentDepth.Training;

/// <summary>
/// A right-padded batch of problems: input ids (prompt + answer token) and labels, (B, S) int64. Right padding is
/// safe without a mask because attention is causal: no real token ever attends to a pad.
/// </summary>
public sealed class TrainingBatch : IDisposable
{
    private TrainingBatch(Tensor ids, Tensor labels, IReadOnlyList<ArithmeticProblem> problems, long[] answerPositions, long tokens)
    {
        Ids = ids;
        Labels = labels;
        Problems = problems;
        AnswerPositions = answerPositions;
        Tokens = tokens;
    }

    /// <summary>Token ids (B, S).</summary>
    public Tensor Ids { get; }

    /// <summary>Targets (B, S); <see cref="ArithmeticTask.IgnoreLabel"/> where there is none.</summary>
    public Tensor Labels { get; }

    /// <summary>The problems, in batch order.</summary>
    public IReadOnlyList<ArithmeticProblem> Problems { get; }

    /// <summary>Per row, the position whose next-token prediction is the answer (the prompt's last token).</summary>
    public IReadOnlyList<long> AnswerPositions { get; }

    /// <summary>Non-pad tokens in the batch.</summary>
    public long Tokens { get; }

    /// <summary>Draws <paramref name="batchSize"/> problems with k uniform in 1..<paramref name="maxDifficulty"/>.</summary>
    public static TrainingBatch Sample(Random random, TaskTokenizer tokenizer, int batchSize, int maxDifficulty, AnswerFormat format = AnswerFormat.Latent)
    {
        ArgumentNullException.ThrowIfNull(random);
        var problems = Enumerable.Range(0, batchSize).Select(_ => ArithmeticTask.Sample(random, 1 + random.Next(maxDifficulty))).ToList();
        return FromProblems(problems, tokenizer, format);
    }

    /// <summary>Tokenises (with <paramref name="tokenizer"/>) and pads <paramref name="problems"/>.</summary>
    public static TrainingBatch FromProblems(IReadOnlyList<ArithmeticProblem> problems, TaskTokenizer tokenizer, AnswerFormat format = AnswerFormat.Latent)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var tokenized = problems.Select(p => ChainOfThoughtFormat.Tokenize(p, tokenizer, format)).ToList();
        int length = tokenized.Max(t => t.Ids.Count);
        var ids = new long[problems.Count * length];
        var labels = new long[problems.Count * length];
        Array.Fill(ids, tokenizer.PadId);
        Array.Fill(labels, ArithmeticTask.IgnoreLabel);
        var answerPositions = new long[problems.Count];
        long tokens = 0;
        for (int b = 0; b < tokenized.Count; b++)
        {
            var t = tokenized[b];
            for (int i = 0; i < t.Ids.Count; i++)
            {
                ids[b * length + i] = t.Ids[i];
                labels[b * length + i] = t.Labels[i];
            }

            answerPositions[b] = t.AnswerPosition;
            tokens += t.Ids.Count;
        }

        return new TrainingBatch(tensor(ids, [problems.Count, length]), tensor(labels, [problems.Count, length]), problems, answerPositions, tokens);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Ids.Dispose();
        Labels.Dispose();
    }
}
