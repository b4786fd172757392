using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.SemanticKernel;
using RecurrentDepth.Training;
using Spectre.Console;

namespace RecurrentDepth.AgentSamples;

/// <summary>
/// The scripted session: the same requests at several thinking efforts through Semantic Kernel, with what each
/// effort cost in latent compute and what it bought.
/// </summary>
internal static class EffortSession
{
    private static readonly (string Label, RecurrentDepthPromptExecutionSettings Settings)[] Efforts =
    [
        ("recurrence_steps: 1", new() { RecurrenceSteps = 1 }),
        ("none", new() { ThinkingEffort = ThinkingEffort.None }),
        ("low", new() { ThinkingEffort = ThinkingEffort.Low }),
        ("medium", new() { ThinkingEffort = ThinkingEffort.Medium }),
        ("high", new() { ThinkingEffort = ThinkingEffort.High }),
    ];

    /// <summary>Held-out arithmetic problems (never seen in training) asked at every effort and scored.</summary>
    public static async Task RunArithmeticAsync(Kernel kernel, int problemsPerEffort)
    {
        // Left to right, mod 10: 3+7 = 10 → 0, 0*9 = 0, 0+3 = 3.
        AnsiConsole.MarkupLine("The bundled micro model was trained in C# on running arithmetic mod 10 ([grey]3+7*9+3= → 3[/]: left to right, each result mod 10).");
        AnsiConsole.MarkupLine("Harder problems need more sequential hops; more thinking effort lets the model iterate its core block more.");
        AnsiConsole.WriteLine();

        // Difficulties 4..8 in turn (7 and 8 were never trained), each from the fixed held-out set.
        var problems = Enumerable.Range(0, problemsPerEffort)
            .Select(i => ArithmeticTask.HeldOut(k: 4 + i % 5, count: i / 5 + 1)[i / 5])
            .ToList();
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        var table = new Table().Title("Same problems, different thinking effort").Border(TableBorder.Rounded)
            .AddColumns("effort", "max steps", "mean steps/token", "correct", "tokens/s", "example");
        foreach (var (label, settings) in Efforts)
        {
            int correct = 0;
            long steps = 0, tokens = 0, appliedMaxSteps = 0;
            var clock = Stopwatch.StartNew();
            string example = "";
            foreach (var problem in problems)
            {
                var history = new ChatHistory();
                history.AddUserMessage(problem.Text);
                var request = (RecurrentDepthPromptExecutionSettings)settings.Clone();
                request.Seed = 1;
                request.MaxTokens = 4;
                var reply = await chat.GetChatMessageContentAsync(history, request, kernel);
                var answer = (reply.Content ?? "").Trim();
                if (answer.Length > 0 && answer[0] - '0' == problem.Answer)
                {
                    correct++;
                }

                var figures = reply.Metadata!;
                steps += Convert.ToInt64(figures[RecurrenceMetadataKeys.TotalSteps], CultureInfo.InvariantCulture);
                appliedMaxSteps = Convert.ToInt64(figures[RecurrenceMetadataKeys.AppliedMaxSteps], CultureInfo.InvariantCulture);
                tokens += (figures[RecurrenceMetadataKeys.Usage] as UsageDetails)?.OutputTokenCount ?? 0;
                if (example.Length == 0)
                {
                    example = $"{problem.Text} {answer} (answer {problem.Answer})";
                }
            }

            table.AddRow(
                label,
                appliedMaxSteps.ToString(CultureInfo.InvariantCulture),
                (steps / (double)Math.Max(1, tokens)).ToString("F1", CultureInfo.InvariantCulture),
                $"{correct}/{problems.Count}",
                (tokens / clock.Elapsed.TotalSeconds).ToString("F0", CultureInfo.InvariantCulture),
                ConsoleText.Cell(example));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Held-out problems of difficulty 4-8 (operations per problem; 7 and 8 never seen in training), greedy decoding.[/]");
        AnsiConsole.MarkupLine("[grey]steps/token = recurrences of the core block per generated token (the answer digit and the end-of-turn token).[/]");
        AnsiConsole.MarkupLine("[grey]medium and high exit early per token once the prediction has converged (KL < 5e-4), so they spend only what each token needs.[/]");
        AnsiConsole.MarkupLine("[grey]The exit check is not free: each step of an early-exit effort also reads out the next-token distribution (coda and[/]");
        AnsiConsole.MarkupLine("[grey]head) to compare it with the previous step's, so a step of medium or high costs more than a step of none or low, and[/]");
        AnsiConsole.MarkupLine("[grey]tokens/s can fall by more than the mean steps/token suggests.[/]");
    }

    /// <summary>General prompts at three efforts, for any checkpoint.</summary>
    public static async Task RunPromptsAsync(Kernel kernel, string? effort)
    {
        string[] prompts =
        [
            "What is the capital of France? Answer in one word.",
            "A train leaves at 3 pm and travels 120 km at 60 km/h. When does it arrive?",
        ];
        var levels = effort is null ? new[] { "low", "medium", "high" } : [effort];
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        var table = new Table().Border(TableBorder.Rounded).AddColumns("effort", "mean steps/token", "tokens/s", "prompt", "answer");
        foreach (var level in levels)
        {
            foreach (var prompt in prompts)
            {
                var settings = new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffortNames.Parse(level, "effort"), MaxTokens = 48, Seed = 1 };
                var history = new ChatHistory();
                history.AddUserMessage(prompt);
                var reply = await chat.GetChatMessageContentAsync(history, settings, kernel);
                var m = reply.Metadata!;
                table.AddRow(level, Format(m[RecurrenceMetadataKeys.MeanSteps]), Format(m[RecurrenceMetadataKeys.TokensPerSecond]), ConsoleText.Cell(prompt), ConsoleText.Cell(reply.Content));
            }
        }

        AnsiConsole.Write(table);
    }

    private static string Format(object? value) =>
        value is IFormattable f ? f.ToString("F1", CultureInfo.InvariantCulture) : value?.ToString() ?? "";
}
