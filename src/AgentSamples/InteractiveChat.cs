using System.Globalization;
using System.Text;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.SemanticKernel;
using Spectre.Console;

namespace RecurrentDepth.AgentSamples;

/// <summary>A streaming chat loop; /effort LEVEL changes how long the model thinks per token.</summary>
internal static class InteractiveChat
{
    /// <param name="kernel">The kernel with the chat service.</param>
    /// <param name="level">The starting effort.</param>
    /// <param name="keepHistory">
    /// False for a model trained on single questions (the micro model): each question is sent alone, since a history
    /// of earlier questions is input it never saw and only makes its answers worse.
    /// </param>
    public static async Task RunAsync(Kernel kernel, ThinkingEffort level, bool keepHistory)
    {
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        var history = new ChatHistory();
        AnsiConsole.MarkupLine("Chat with the model. [grey]/effort none|low|medium|high|xhigh|adaptive[/] changes thinking effort, [grey]/quit[/] leaves.");
        AnsiConsole.MarkupLine(keepHistory
            ? "[grey]The conversation is kept: each question is sent with the earlier turns.[/]"
            : "[grey]This model was trained on single questions, so each question is sent alone (no history), e.g. 3+7*9+3=[/]");
        while (true)
        {
            AnsiConsole.Markup($"[bold]you ({ThinkingEffortNames.ToSettingValue(level)})>[/] ");
            var line = Console.ReadLine();
            if (line is null || line.Trim() == "/quit")
            {
                return;
            }

            if (line.StartsWith("/effort ", StringComparison.Ordinal))
            {
                try
                {
                    level = ThinkingEffortNames.Parse(line["/effort ".Length..].Trim(), "/effort");
                }
                catch (ArgumentException ex)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]{ConsoleText.Error(ex)}[/]");
                }

                continue;
            }

            if (line.Trim().Length == 0)
            {
                continue;
            }

            if (!keepHistory)
            {
                history.Clear();
            }

            history.AddUserMessage(line);
            var settings = new RecurrentDepthPromptExecutionSettings { ThinkingEffort = level };
            var reply = new StringBuilder();
            IReadOnlyDictionary<string, object?>? figures = null;
            AnsiConsole.Markup("[bold]model>[/] ");
            await foreach (var chunk in chat.GetStreamingChatMessageContentsAsync(history, settings, kernel))
            {
                Console.Write(chunk.Content);
                reply.Append(chunk.Content);
                if (chunk.Metadata?.ContainsKey(RecurrenceMetadataKeys.MeanSteps) == true)
                {
                    figures = chunk.Metadata;
                }
            }

            Console.WriteLine();
            if (figures is not null)
            {
                AnsiConsole.MarkupLineInterpolated(
                    $"[grey]{Convert.ToDouble(figures[RecurrenceMetadataKeys.MeanSteps], CultureInfo.InvariantCulture):F1} steps/token, cap hit {Convert.ToDouble(figures[RecurrenceMetadataKeys.CapHitShare], CultureInfo.InvariantCulture):P0}, {Convert.ToDouble(figures[RecurrenceMetadataKeys.TokensPerSecond], CultureInfo.InvariantCulture):F1} tokens/s[/]");
            }

            history.AddAssistantMessage(reply.ToString());
        }
    }
}
