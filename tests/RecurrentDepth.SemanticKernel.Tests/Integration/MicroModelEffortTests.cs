using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.Training;

namespace RecurrentDepth.SemanticKernel.Tests.Integration;

/// <summary>
/// The committed micro model, through the connector exactly as the samples use it: on a fixed slice of the held-out
/// set, high thinking effort must solve clearly more problems than the lowest effort.
/// </summary>
public sealed class MicroModelEffortTests
{
    private static string MicroModel => Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");

    // The first problems of the held-out set at the hardest trained difficulty and the two never trained.
    private static IReadOnlyList<ArithmeticProblem> Slice() =>
        new[] { 6, 7, 8 }.SelectMany(k => ArithmeticTask.HeldOut(k).Take(20)).ToList();

    [Fact]
    public async Task High_effort_solves_clearly_more_held_out_problems_than_the_lowest_effort()
    {
        using var host = await RealModelHostTests.StartHostAsync(MicroModel);
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        var chat = host.Services.GetRequiredService<IChatCompletionService>();

        async Task<int> SolvedAsync(ThinkingEffort effort)
        {
            int solved = 0;
            foreach (var problem in Slice())
            {
                var settings = new RecurrentDepthPromptExecutionSettings { ThinkingEffort = effort, MaxTokens = 2, Seed = 1 };
                var reply = await chat.GetChatMessageContentAsync(new ChatHistory { new(AuthorRole.User, problem.Text) }, settings);
                var text = (reply.Content ?? "").Trim();
                solved += text.Length > 0 && text[0] - '0' == problem.Answer ? 1 : 0;
            }

            return solved;
        }

        int lowest = await SolvedAsync(ThinkingEffort.None);
        int high = await SolvedAsync(ThinkingEffort.High);
        int problems = Slice().Count;
        Assert.True(high - lowest >= problems / 5,
            $"high effort solved {high}/{problems}, the lowest effort {lowest}/{problems}; expected a margin of at least {problems / 5}.");
        await host.StopAsync();
    }
}
