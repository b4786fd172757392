using RecurrentDepth.Training;

namespace RecurrentDepth.AgentSamples;

/// <summary>
/// A long running-arithmetic chain (e.g. 24 operations) cut into steps the micro model can take: each step is the
/// running value so far followed by the next few operations, e.g. <c>3+7*9+3=</c>.
/// </summary>
/// <param name="Start">The start digit.</param>
/// <param name="Operations">The operations in order, each two characters (<c>+7</c>, <c>*3</c>).</param>
/// <param name="Answer">The value at the end of the chain.</param>
internal sealed record ChainProblem(int Start, IReadOnlyList<string> Operations, int Answer)
{
    /// <summary>Seed offset of the chain set, so it shares no generator with the per-difficulty held-out sets.</summary>
    private const int ChainSeedOffset = 1_000_003;

    /// <summary>The fixed held-out chains: <paramref name="count"/> chains of <paramref name="operations"/> operations.</summary>
    public static IReadOnlyList<ChainProblem> HeldOut(int operations, int count)
    {
        var random = new Random(ArithmeticTask.HeldOutSeed + ChainSeedOffset + operations);
        return [.. Enumerable.Range(0, count).Select(_ => From(ArithmeticTask.Sample(random, operations)))];
    }

    /// <summary>The chain of a generated problem (<c>d(op c)*=</c>).</summary>
    public static ChainProblem From(ArithmeticProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var body = problem.Text[1..^1];
        return new ChainProblem(problem.Text[0] - '0', [.. Enumerable.Range(0, body.Length / 2).Select(i => body.Substring(2 * i, 2))], problem.Answer);
    }

    /// <summary>The prompt of the step that applies operations [first, first + count) to <paramref name="value"/>.</summary>
    public string StepPrompt(int value, int first, int count) =>
        $"{value}{string.Concat(Operations.Skip(first).Take(count))}=";

    /// <summary>The value of applying operations [first, first + count) to <paramref name="value"/>.</summary>
    public int Apply(int value, int first, int count)
    {
        foreach (var op in Operations.Skip(first).Take(count))
        {
            int c = op[1] - '0';
            value = op[0] == '+' ? (value + c) % 10 : value * c % 10;
        }

        return value;
    }
}
