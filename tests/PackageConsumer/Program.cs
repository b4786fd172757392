// The package consumer check: load a model through the packages and answer one question at two efforts.
// Usage: dotnet run -- MODEL_FOLDER. Exit code 0 when both answers came back with the depth each effort asks for.
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RecurrentDepth.SemanticKernel;

if (args.Length != 1 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("Usage: PackageConsumer MODEL_FOLDER (a Huginn checkpoint, e.g. models/huginn-micro-arith).");
    return 2;
}

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddRecurrentDepthModel(o =>
{
    o.ModelPath = Path.GetFullPath(args[0]);
    o.Device = "cpu";
    o.Threads = 1;
});
builder.Services.AddRecurrentDepthChatClient();
using var host = builder.Build();
await host.StartAsync();

var client = host.Services.GetRequiredService<IChatClient>();
const string Question = "3+7*9+3=";
int failures = 0;
foreach (var (effort, expectedCap) in new[] { (ReasoningEffort.Low, 8L), (ReasoningEffort.High, 32L) })
{
    var options = new ChatOptions { Reasoning = new() { Effort = effort }, MaxOutputTokens = 4, Seed = 1 };
    var response = await client.GetResponseAsync(Question, options);
    long cap = response.Usage?.AdditionalCounts?.GetValueOrDefault(RecurrenceMetadataKeys.AppliedMaxSteps) ?? -1;
    long meanX1000 = response.Usage?.AdditionalCounts?.GetValueOrDefault(RecurrenceMetadataKeys.MeanStepsX1000) ?? -1;
    Console.WriteLine($"effort {effort}: '{Question}' -> '{response.Text.Trim()}' (step cap {cap}, mean steps/token {meanX1000 / 1000.0:F1}, finish {response.FinishReason})");
    if (string.IsNullOrWhiteSpace(response.Text) || cap != expectedCap || meanX1000 <= 0 || meanX1000 > cap * 1000)
    {
        Console.Error.WriteLine($"effort {effort}: expected a non-empty answer with step cap {expectedCap} and 0 < mean steps <= cap.");
        failures++;
    }
}

await host.StopAsync();
Console.WriteLine(failures == 0 ? "package consumer: OK" : $"package consumer: {failures} check(s) failed");
return failures == 0 ? 0 : 1;
