// Scale-out bench: what conversation affinity saves. Three in-process silos (Orleans' TestCluster), each hosting the
// micro model; N conversations of 3 turns at r = 32 fixed depth, run twice:
//   affinity - through the cluster chat client: each conversation is a grain, every turn runs on the silo of its first;
//   random   - a stateless router: every turn sends the whole history to a silo's engine drawn at random (seeded).
// Reported per mode: prompt tokens, prompt tokens served from the engine's prefix cache, prefill core passes
// ((prompt - cached) x r: each prefilled token runs the core block r times), and wall time. Not a test: numbers only.
//
//   dotnet run -c Release --project bench/RecurrentDepth.ScaleOutBench -- [conversations=12]
using System.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Orleans.Hosting;
using RecurrentDepth.ScaleOutBench;
using RecurrentDepth.Tokenization;
using TorchSharp;

const int Steps = 32;
const int Turns = 3;
int conversations = args.Length > 0 ? int.Parse(args[0]) : 12;
torch.set_num_threads(1);

var builder = new TestClusterBuilder(3);
builder.AddSiloBuilderConfigurator<BenchSilo>();
builder.AddClientBuilderConfigurator<BenchClient>();
var cluster = builder.Build();
await cluster.DeployAsync();
var engines = cluster.Silos.Select(s => ((InProcessSiloHandle)s).SiloHost.Services.GetRequiredService<ModelHost>()).ToArray();
foreach (var engine in engines)
{
    await engine.WhenLoaded;
}

var services = new ServiceCollection().AddSingleton<IGrainFactory>(cluster.Client);
services.AddRecurrentDepthClusterChatClient();
await using var provider = services.BuildServiceProvider();
var chat = provider.GetRequiredService<IChatClient>();
var fixedDepth = new ChatOptions { MaxOutputTokens = 4, AdditionalProperties = new() { ["recurrence_steps"] = Steps } };

// Distinct problems per mode, so one mode's cached prefixes never serve the other's prompts.
var affinity = await Measure.RunAsync("affinity", conversations, Turns, async (c, history) =>
{
    var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, history[^1].Content)],
        new ChatOptions { ConversationId = $"bench-{c}", MaxOutputTokens = fixedDepth.MaxOutputTokens, AdditionalProperties = fixedDepth.AdditionalProperties });
    return (response.Text, (int)response.Usage!.InputTokenCount!.Value, (int)(response.Usage.CachedInputTokenCount ?? 0));
}, problemOffset: 0);

var random = new Random(7);
var randomRouting = await Measure.RunAsync("random", conversations, Turns, async (c, history) =>
{
    var engine = engines[random.Next(engines.Length)];
    var request = new GenerationRequest { Messages = history.ToArray(), Depth = DepthPolicy.Fixed(Steps), MaxNewTokens = 4 };
    string text = "";
    GenerationSummary? summary = null;
    await foreach (var update in engine.GenerateAsync(request))
    {
        text += update.TextDelta;
        summary = update.Summary ?? summary;
    }

    return (text, summary!.InputTokens, summary.CachedInputTokens);
}, problemOffset: 1000);

Console.WriteLine($"3 silos x micro model, {conversations} conversations x {Turns} turns, r = {Steps} fixed depth, 4 new tokens per turn, {Environment.ProcessorCount} cores");
Console.WriteLine("| routing | prompt tokens | cached | prefill core passes | wall s |");
Console.WriteLine("|---|---:|---:|---:|---:|");
foreach (var m in new[] { affinity, randomRouting })
{
    Console.WriteLine($"| {m.Name} | {m.PromptTokens} | {m.CachedTokens} | {(m.PromptTokens - m.CachedTokens) * (long)Steps} | {m.Wall.TotalSeconds:F1} |");
}

Console.WriteLine($"prefill core passes, random / affinity: {(double)(randomRouting.PromptTokens - randomRouting.CachedTokens) / Math.Max(1, affinity.PromptTokens - affinity.CachedTokens):F2}x");
await cluster.StopAllSilosAsync();
await cluster.DisposeAsync();

namespace RecurrentDepth.ScaleOutBench
{
    internal sealed record Measure(string Name, long PromptTokens, long CachedTokens, TimeSpan Wall)
    {
        /// <summary>Runs <paramref name="conversations"/> conversations of <paramref name="turns"/> turns, one turn at a time, through <paramref name="turn"/>.</summary>
        public static async Task<Measure> RunAsync(string name, int conversations, int turns,
            Func<int, List<ChatTurn>, Task<(string Text, int Prompt, int Cached)>> turn, int problemOffset)
        {
            var histories = Enumerable.Range(0, conversations).Select(_ => new List<ChatTurn>()).ToArray();
            long prompt = 0, cached = 0;
            var clock = Stopwatch.StartNew();
            for (int t = 0; t < turns; t++)
            {
                for (int c = 0; c < conversations; c++)
                {
                    histories[c].Add(new ChatTurn("user", Problem(problemOffset + (c * turns) + t)));
                    var (text, p, k) = await turn(c, histories[c]);
                    histories[c].Add(new ChatTurn("assistant", text));
                    (prompt, cached) = (prompt + p, cached + k);
                }
            }

            return new Measure(name, prompt, cached, clock.Elapsed);
        }

        private static string Problem(int i)
        {
            // A start digit and four operations from the micro model's task (+c or *c, c in {3, 7, 9}, mod 10).
            var r = new Random(i);
            string ops = string.Concat(Enumerable.Range(0, 4).Select(_ => $"{(r.Next(2) == 0 ? '+' : '*')}{new[] { 3, 7, 9 }[r.Next(3)]}"));
            return $"{r.Next(10)}{ops}=";
        }
    }

    internal sealed class BenchSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddRecurrentDepthSilo(o =>
            {
                o.ModelPath = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");
                o.Device = "cpu";
                o.Threads = 1;
            });
            siloBuilder.AddMemoryGrainStorage(RecurrentDepthSiloOptions.StorageProviderName);
        }
    }

    internal sealed class BenchClient : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder clientBuilder) => clientBuilder.AddRecurrentDepthClient();
    }
}
