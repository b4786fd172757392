using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using RecurrentDepth.Engine;
using RecurrentDepth.Training;
using E = RecurrentDepth.SemanticKernel.EscalationMetadataKeys;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests.Integration;

/// <summary>
/// The committed micro model through the MEAI client: every effort reports its convergence figures, and escalation
/// steps up exactly when a plain request at the same effort comes back unconverged.
/// </summary>
public sealed class MicroModelEscalationTests
{
    private static string MicroModel => Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");

    private static IReadOnlyList<ArithmeticProblem> Slice() => [.. ArithmeticTask.HeldOut(3).Take(4), .. ArithmeticTask.HeldOut(6).Take(8)];

    private static ChatOptions At(string effort) =>
        new() { MaxOutputTokens = 1, Seed = 1, AdditionalProperties = new() { ["thinking_effort"] = effort } };

    private static double Share(ChatResponse response) => (double)response.AdditionalProperties![K.UnconvergedShare]!;

    [Fact]
    public async Task Fixed_kl_and_adaptive_efforts_all_report_convergence_and_none_is_the_least_converged()
    {
        using var host = await RealModelHostTests.StartHostAsync(MicroModel);
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        var client = host.Services.GetRequiredService<IChatClient>();

        var unconverged = new Dictionary<string, long>();
        foreach (var effort in new[] { "none", "low", "high", "adaptive" })
        {
            foreach (var problem in Slice())
            {
                var response = await client.GetResponseAsync(problem.Text, At(effort));
                Assert.True(response.AdditionalProperties!.TryGetValue(K.MaxExitValue, out object? worst) && worst is double value && double.IsFinite(value), $"{effort}: worst convergence value on {problem.Text} is {worst ?? "absent"}");
                Assert.InRange(Share(response), 0, 1);
                unconverged[effort] = unconverged.GetValueOrDefault(effort) + response.Usage!.AdditionalCounts![K.UnconvergedTokens];
            }
        }

        // Four steps are too few for six operations: the answer is still moving when none stops.
        Assert.True(unconverged["none"] > unconverged["high"], $"unconverged answers: {string.Join(", ", unconverged)}");
        await host.StopAsync();
    }

    [Fact]
    public async Task Escalation_steps_up_exactly_when_the_plain_answer_at_that_effort_is_unconverged()
    {
        using var host = await RealModelHostTests.StartHostAsync(MicroModel);
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        var plain = host.Services.GetRequiredService<IChatClient>();
        using var escalating = plain.AsBuilder().UseEffortEscalation(o => o.UnconvergedShareThreshold = 0).Build();
        string[] ladder = ["none", "low", "medium", "high"];

        int escalated = 0;
        foreach (var problem in Slice())
        {
            // What the escalation should do, worked out from plain requests at each effort in turn.
            var expectedPath = new List<string>();
            var expectedSteps = new List<long>();
            foreach (var effort in ladder)
            {
                var response = await plain.GetResponseAsync(problem.Text, At(effort));
                expectedPath.Add(effort);
                expectedSteps.Add(response.Usage!.AdditionalCounts![K.TotalSteps]);
                if (Share(response) == 0)
                {
                    break;
                }
            }

            var options = new ChatOptions { MaxOutputTokens = 1, Seed = 1 };
            var escalatedResponse = await escalating.GetResponseAsync(problem.Text, options);

            Assert.Equal(string.Join('>', expectedPath), escalatedResponse.AdditionalProperties![E.EffortPath]);
            Assert.Equal(expectedSteps, (long[])escalatedResponse.AdditionalProperties[E.StepsPerAttempt]!);
            Assert.Equal(expectedSteps.Sum(), escalatedResponse.Usage!.AdditionalCounts![E.TotalSteps]);
            escalated += expectedPath.Count > 1 ? 1 : 0;
        }

        // The slice holds both kinds: easy steps that none settles and hard ones it does not.
        Assert.InRange(escalated, 1, Slice().Count - 1);
        await host.StopAsync();
    }
}
