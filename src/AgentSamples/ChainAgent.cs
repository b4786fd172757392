using System.Globalization;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using RecurrentDepth.SemanticKernel;

namespace RecurrentDepth.AgentSamples;

/// <summary>What solving one chain cost and whether it ended right.</summary>
/// <param name="Correct">The final value was the chain's answer.</param>
/// <param name="StepsRight">Steps whose reply was right for the value they were given (a step after a wrong one can be right).</param>
/// <param name="Calls">Model calls (an escalated step counts each attempt).</param>
/// <param name="RecurrenceSteps">Recurrence steps over every generated token of every call.</param>
/// <param name="Flops">Approximate forward FLOPs of every call, prompts included.</param>
/// <param name="Escalations">Steps that needed more than one attempt.</param>
internal sealed record ChainOutcome(bool Correct, int StepsRight, int Calls, long RecurrenceSteps, double Flops, int Escalations);

/// <summary>
/// A Microsoft Agent Framework agent that works through a long chain a few operations at a time: each step asks the
/// model for the value of "running value + next operations", and the reply becomes the next step's running value.
/// One wrong step makes the chain wrong, which is what makes cheap-but-sloppy effort expensive end to end.
/// </summary>
internal sealed class ChainAgent
{
    private readonly AIAgent _agent;
    private readonly ChatOptions _options;
    private readonly int _operationsPerStep;

    /// <param name="client">The chat client pipeline (with or without effort escalation).</param>
    /// <param name="effort">Fixed effort for every step, or null when the pipeline chooses (escalation).</param>
    /// <param name="operationsPerStep">Operations the model is asked to apply per call.</param>
    public ChainAgent(IChatClient client, ThinkingEffort? effort, int operationsPerStep)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(operationsPerStep);
        // No instructions: the micro model knows one prompt format, the bare problem as the user message.
        _agent = new ChatClientAgent(client, name: "chain-solver");
        _operationsPerStep = operationsPerStep;
        _options = new ChatOptions
        {
            MaxOutputTokens = 1, // the answer is one digit; nothing after it is read
            Seed = 1,
            AdditionalProperties = effort is { } e ? new() { ["thinking_effort"] = ThinkingEffortNames.ToSettingValue(e) } : null,
        };
    }

    /// <summary>Reads the digit a reply starts with; null when it does not start with one.</summary>
    public static int? Digit(string text) =>
        text.TrimStart() is { Length: > 0 } t && char.IsAsciiDigit(t[0]) ? t[0] - '0' : null;

    public async Task<ChainOutcome> SolveAsync(ChainProblem problem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        int value = problem.Start, right = 0, calls = 0, escalations = 0;
        long steps = 0;
        double flops = 0;
        for (int first = 0; first < problem.Operations.Count; first += _operationsPerStep)
        {
            int count = Math.Min(_operationsPerStep, problem.Operations.Count - first);
            int expected = problem.Apply(value, first, count);
            // A fresh session per step: the model sees only this step's problem, never the chain so far.
            var reply = await _agent.RunAsync(problem.StepPrompt(value, first, count), options: new ChatClientAgentRunOptions(_options), cancellationToken: cancellationToken);
            var counts = reply.Usage?.AdditionalCounts;
            int attempts = counts is not null && counts.TryGetValue(EscalationMetadataKeys.AttemptCount, out long a) ? (int)a : 1;
            calls += attempts;
            escalations += attempts > 1 ? 1 : 0;
            steps += Count(counts, EscalationMetadataKeys.TotalSteps) ?? Count(counts, RecurrenceMetadataKeys.TotalSteps) ?? 0;
            flops += Count(counts, EscalationMetadataKeys.TotalFlops) ?? Count(counts, RecurrenceMetadataKeys.EffectiveFlops) ?? 0;
            // An unreadable reply leaves the value as it was; the chain is then almost surely wrong, as it should be.
            value = Digit(reply.Text) ?? value;
            right += value == expected ? 1 : 0;
        }

        return new ChainOutcome(value == problem.Answer, right, calls, steps, flops, escalations);
    }

    private static long? Count(AdditionalPropertiesDictionary<long>? counts, string key) =>
        counts is not null && counts.TryGetValue(key, out long v) ? v : null;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"chain agent, {_operationsPerStep} operations per step");
}
