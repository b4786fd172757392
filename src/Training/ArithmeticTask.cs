namespace RecurrentDepth.Training;

/// <summary>
/// One problem of the running-arithmetic task: a start digit followed by <c>k</c> operations <c>+c</c> or <c>*c</c>
/// (c ∈ {3, 7, 9}) modulo 10, e.g. <c>3+7*9+3=</c>. Every operation is a bijection on the digits, so the answer
/// depends on every step: the difficulty k is the number of sequential hops the model must make.
/// </summary>
/// <param name="Text">The problem as the user writes it, ending in <c>=</c>.</param>
/// <param name="RunningValues">Value after each character of <see cref="Text"/> (before the <c>=</c>).</param>
/// <param name="Answer">The final value, 0..9.</param>
/// <param name="Difficulty">Number of operations k.</param>
public sealed record ArithmeticProblem(string Text, IReadOnlyList<int> RunningValues, int Answer, int Difficulty);

/// <summary>A tokenised problem: the chat prompt, where its labels go, and the answer token.</summary>
/// <param name="PromptIds">The rendered chat prompt up to and including the assistant header's two newlines.</param>
/// <param name="Labels">Training target per prompt position (−100 = none), plus the answer position's.</param>
/// <param name="AnswerId">Token id of the answer digit: the first token the model should generate.</param>
/// <param name="ChainStart">Position of the problem text's first character in <paramref name="PromptIds"/>.</param>
public sealed record TokenizedProblem(IReadOnlyList<int> PromptIds, IReadOnlyList<int> Labels, int AnswerId, int ChainStart);

/// <summary>Generates problems and builds dense labels on their chat prompts (rendered and encoded by a <see cref="TaskTokenizer"/>).</summary>
public static class ArithmeticTask
{
    private static readonly int[] Constants = [3, 7, 9];

    /// <summary>Seed of the fixed held-out set (separate from any training seed).</summary>
    public const int HeldOutSeed = 20_250_207;

    /// <summary>Problems per difficulty in the held-out set.</summary>
    public const int HeldOutPerDifficulty = 500;

    /// <summary>Difficulties in the held-out set: 1..6 are trained, 7 and 8 never are.</summary>
    public static IReadOnlyList<int> HeldOutDifficulties { get; } = [1, 2, 3, 4, 5, 6, 7, 8];

    /// <summary>Label value marking "no loss at this position".</summary>
    public const int IgnoreLabel = -100;

    /// <summary>Draws one problem of difficulty <paramref name="k"/> (≥ 1).</summary>
    public static ArithmeticProblem Sample(Random random, int k)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        int value = random.Next(10);
        var text = new System.Text.StringBuilder().Append((char)('0' + value));
        var running = new List<int>(2 * k + 1) { value };
        for (int i = 0; i < k; i++)
        {
            bool add = random.Next(2) == 0;
            int c = Constants[random.Next(Constants.Length)];
            text.Append(add ? '+' : '*');
            running.Add(value);
            value = add ? (value + c) % 10 : value * c % 10;
            text.Append((char)('0' + c));
            running.Add(value);
        }

        return new ArithmeticProblem(text.Append('=').ToString(), running, value, k);
    }

    /// <summary>
    /// The fixed held-out set: <see cref="HeldOutPerDifficulty"/> problems for each of <see cref="HeldOutDifficulties"/>,
    /// drawn from <see cref="HeldOutSeed"/> (one generator per difficulty, so adding a difficulty changes no other).
    /// </summary>
    public static IReadOnlyList<ArithmeticProblem> HeldOut(int k, int count = HeldOutPerDifficulty)
    {
        var random = new Random(HeldOutSeed + 7919 * k);
        return Enumerable.Range(0, count).Select(_ => Sample(random, k)).ToList();
    }

    /// <summary>
    /// Tokenises a problem with dense labels: each character of the chain is labelled with the running value after
    /// it; <c>=</c> and every token of the template after it with the answer (the last of these is the real next-token
    /// target: the first generated token); the answer token itself with <c>&lt;|end_turn|&gt;</c>.
    /// </summary>
    public static TokenizedProblem Tokenize(ArithmeticProblem problem, TaskTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var (prompt, start) = tokenizer.EncodePrompt(problem);
        int answerId = tokenizer.DigitId(problem.Answer);
        var labels = new int[prompt.Count + 1];
        Array.Fill(labels, IgnoreLabel);
        for (int i = 0; i < problem.RunningValues.Count; i++)
        {
            labels[start + i] = tokenizer.DigitId(problem.RunningValues[i]);
        }

        for (int i = start + problem.RunningValues.Count; i < prompt.Count; i++)
        {
            labels[i] = answerId;
        }

        labels[prompt.Count] = tokenizer.EndTurnId;
        return new TokenizedProblem(prompt, labels, answerId, start);
    }
}
