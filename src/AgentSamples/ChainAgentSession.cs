using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;
using RecurrentDepth.SemanticKernel;
using Spectre.Console;

namespace RecurrentDepth.AgentSamples;

/// <summary>
/// The agent part of the main command: long chains solved step by step by a <see cref="ChainAgent"/> under fixed
/// efforts, adaptive effort, and effort escalation from none, scored end to end with the latent compute each spent.
/// </summary>
internal static class ChainAgentSession
{
    public const int Operations = 24;

    public const int OperationsPerStep = 6;

    /// <summary>
    /// The effort the agent should use on this task, from the measured 200-chain table (docs/effort.md): adaptive
    /// solves every chain; high (no step floor) is 7% cheaper but loses 2.5 points to premature exits; escalation from
    /// none pays nearly every step twice, because four steps almost never settle six operations.
    /// </summary>
    public const ThinkingEffort RecommendedEffort = ThinkingEffort.Adaptive;

    private sealed record Strategy(string Label, ThinkingEffort? Effort, bool Escalates);

    private static readonly Strategy[] Strategies =
    [
        new("none (4)", ThinkingEffort.None, false),
        new("low (8)", ThinkingEffort.Low, false),
        new("high (≤32 KL)", ThinkingEffort.High, false),
        new("adaptive (4-64 KL)", ThinkingEffort.Adaptive, false),
        new("escalate none→high", null, true),
    ];

    /// <summary>The escalation the sample uses: from none, one effort up whenever the answer digit is unconverged or unreadable.</summary>
    public static IChatClient Escalating(IChatClient leaf) => leaf.AsBuilder().UseEffortEscalation(o =>
    {
        o.StartEffort = ThinkingEffort.None;
        o.MaxEffort = ThinkingEffort.High;
        o.UnconvergedShareThreshold = 0; // one generated token per step: escalate when it is unconverged
        o.Validator = (response, _) => ValueTask.FromResult(ChainAgent.Digit(response.Text) is not null);
    }).Build();

    /// <summary>Runs every strategy on <paramref name="chains"/> held-out chains and prints the table; writes it as markdown when asked.</summary>
    public static async Task RunAsync(IChatClient leaf, int chains, string? markdownPath)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        var problems = ChainProblem.HeldOut(Operations, chains);
        var rows = new List<(Strategy Strategy, ChainOutcome[] Outcomes, TimeSpan Elapsed)>();
        using var escalating = Escalating(leaf);
        foreach (var strategy in Strategies)
        {
            var agent = new ChainAgent(strategy.Escalates ? escalating : leaf, strategy.Effort, OperationsPerStep);
            var clock = Stopwatch.StartNew();
            var outcomes = new ChainOutcome[problems.Count];
            for (int i = 0; i < problems.Count; i++)
            {
                outcomes[i] = await agent.SolveAsync(problems[i]);
            }

            rows.Add((strategy, outcomes, clock.Elapsed));
        }

        long highSteps = rows.Single(r => r.Strategy.Effort == ThinkingEffort.High).Outcomes.Sum(o => o.RecurrenceSteps);
        var table = new Table().Title($"Agent: {chains} chains of {Operations} operations, {OperationsPerStep} per call").Border(TableBorder.Rounded)
            .AddColumns("strategy", "solved", "steps", "vs high", "calls", "wall s");
        foreach (var (strategy, outcomes, elapsed) in rows)
        {
            var f = Figures(outcomes, highSteps);
            string label = strategy.Effort == RecommendedEffort && !strategy.Escalates ? $"{strategy.Label} (recommended)" : strategy.Label;
            table.AddRow(label, $"{outcomes.Count(o => o.Correct)}/{outcomes.Length}", f.Steps, f.VsHigh, f.Calls, elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
        int best = rows.Max(r => r.Outcomes.Count(o => o.Correct));
        var cheapest = rows.Where(r => 100.0 * (best - r.Outcomes.Count(o => o.Correct)) / chains <= 2).MinBy(r => r.Outcomes.Sum(o => o.RecurrenceSteps));
        AnsiConsole.MarkupLineInterpolated($"Cheapest within 2 points of the best in this run: [bold]{cheapest.Strategy.Label}[/]. On 200 chains (docs/effort.md) {RecommendedEffort.ToString().ToLowerInvariant()} wins and is the agent's recommended effort; escalation from none pays most steps twice.");
        AnsiConsole.MarkupLine("[grey]Each call answers one step (running value + next operations); a wrong step makes the whole chain wrong.[/]");
        AnsiConsole.MarkupLine("[grey]steps = core-block recurrences over every answer token of every call (escalation counts every attempt). Full table: docs/effort.md.[/]");
        if (markdownPath is not null)
        {
            await File.WriteAllTextAsync(markdownPath, Markdown(rows, chains, highSteps));
            AnsiConsole.MarkupLineInterpolated($"[grey]Wrote {markdownPath}.[/]");
        }
    }

    private static (string Solved, string Steps, string VsHigh, string Calls, string Escalated, string StepAccuracy, string Flops) Figures(ChainOutcome[] outcomes, long highSteps)
    {
        var c = CultureInfo.InvariantCulture;
        long steps = outcomes.Sum(o => o.RecurrenceSteps);
        int stepsPerChain = (Operations + OperationsPerStep - 1) / OperationsPerStep;
        return (
            $"{outcomes.Count(o => o.Correct)}/{outcomes.Length} ({100.0 * outcomes.Count(o => o.Correct) / outcomes.Length:F1}%)".ToString(c),
            steps.ToString(c),
            (100.0 * steps / Math.Max(1, highSteps)).ToString("F0", c) + "%",
            outcomes.Sum(o => o.Calls).ToString(c),
            outcomes.Sum(o => o.Escalations).ToString(c),
            (100.0 * outcomes.Sum(o => o.StepsRight) / (outcomes.Length * stepsPerChain)).ToString("F1", c) + "%",
            outcomes.Sum(o => o.Flops).ToString("G3", c));
    }

    private static string Markdown(List<(Strategy Strategy, ChainOutcome[] Outcomes, TimeSpan Elapsed)> rows, int chains, long highSteps)
    {
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"| strategy | chains solved ({chains}) | steps right | total recurrence steps | steps vs high | model calls | escalated steps | FLOPs | wall s |")
            .AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var (strategy, outcomes, elapsed) in rows)
        {
            var f = Figures(outcomes, highSteps);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {strategy.Label} | {f.Solved} | {f.StepAccuracy} | {f.Steps} | {f.VsHigh} | {f.Calls} | {f.Escalated} | {f.Flops} | {elapsed.TotalSeconds:F1} |");
        }

        return text.ToString();
    }
}
