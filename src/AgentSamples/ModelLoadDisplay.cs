using RecurrentDepth.Engine;
using Spectre.Console;

namespace RecurrentDepth.AgentSamples;

/// <summary>Shows a progress bar while the model host loads the checkpoint in the background.</summary>
internal static class ModelLoadDisplay
{
    public static async Task<bool> WaitAsync(ModelHost host)
    {
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"Loading {host.ModelId}", maxValue: 1.0);
                while (!host.WhenLoaded.IsCompleted)
                {
                    if (host.LoadProgress is { } p)
                    {
                        task.MaxValue = Math.Max(1, p.TotalBytes);
                        task.Value = p.BytesLoaded;
                    }

                    await Task.WhenAny(host.WhenLoaded, Task.Delay(100));
                }

                task.Value = task.MaxValue;
            });

        if (host.State == EngineState.Faulted)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]The model failed to load:[/] {host.FailureReason}");
            return false;
        }

        var config = host.Engine!.ModelConfig;
        AnsiConsole.MarkupLineInterpolated(
            $"[green]Loaded[/] {host.ModelId} on {host.Engine.DeviceName}: n_embd {config.NEmbd}, {config.NLayersInPrelude}/{config.NLayersInRecurrentBlock}/{config.NLayersInCoda} prelude/core/coda layers, vocabulary {config.VocabSize}.");
        return true;
    }
}
