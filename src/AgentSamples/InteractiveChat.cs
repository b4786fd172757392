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
    public static async Task RunAsync(Kernel kernel, string effort)
    {
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        var history = new ChatHistory();
        var level = ThinkingEffortNames.Parse(effort, "--effort");
        AnsiConsole.MarkupLine("Chat with the model. [grey]/effort none|low|medium|high|xhigh|adaptive[/] changes thinking effort, [grey]/quit[/] leaves.");
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
                    AnsiConsole.MarkupLineInterpolated($"[red]{ex.Message}[/]");
                }

                continue;
            }

            if (line.Trim().Length == 0)
            {
                continue;
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
