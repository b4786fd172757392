using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.SemanticKernel;
using RecurrentDepth.AgentSamples;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel;
using Spectre.Console;

SampleOptions options;
try
{
    options = SampleOptions.Parse(args);
}
catch (ArgumentException ex)
{
    AnsiConsole.MarkupLineInterpolated($"[red]{ex.Message}[/]");
    return 2;
}

if (options.Help)
{
    Console.WriteLine(SampleOptions.Usage);
    return 0;
}

var modelPath = options.ResolvedModelPath;
if (!Directory.Exists(modelPath))
{
    AnsiConsole.MarkupLineInterpolated($"[red]Model folder '{modelPath}' does not exist.[/] Pass --model PATH to a Huginn checkpoint folder.");
    return 2;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddRecurrentDepthModel(builder.Configuration.GetSection("RecurrentDepth"));
builder.Services.Configure<RecurrentDepth.Engine.EngineOptions>(o =>
{
    o.ModelPath = modelPath;
    o.Device = options.Device;
});
builder.Services.AddRecurrentDepthChatCompletion();
builder.Services.AddKernel();

using var host = builder.Build();
await host.StartAsync();
var modelHost = host.Services.GetRequiredService<ModelHost>();
if (!await ModelLoadDisplay.WaitAsync(modelHost))
{
    await host.StopAsync();
    return 1;
}

var kernel = host.Services.GetRequiredService<Kernel>();
try
{
    if (options.Chat)
    {
        await InteractiveChat.RunAsync(kernel, options.Effort ?? "medium");
    }
    else if (options.IsArithmeticModel)
    {
        await EffortSession.RunArithmeticAsync(kernel, options.Problems);
        await ChainAgentSession.RunAsync(new RecurrentDepthChatClient(modelHost), options.Chains, options.ChainsMarkdown);
    }
    else
    {
        if (options.IsRandomTestModel)
        {
            AnsiConsole.MarkupLine("[yellow]huginn-tiny is the parity test fixture: its weights are random, so its text is noise.[/] The table still shows real latent compute per effort.");
        }

        await EffortSession.RunPromptsAsync(kernel, options.Effort);
    }
}
finally
{
    await host.StopAsync();
}

return 0;
