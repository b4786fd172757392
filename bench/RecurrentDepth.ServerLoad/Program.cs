using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RecurrentDepth.ServerLoad;
using RecurrentDepth.Server.Hosting;

// A bounded load run against the OpenAI-compatible server on loopback: every distinct request is first run alone
// (the reference), then `--clients` concurrent streaming clients send `--requests` requests at mixed efforts. Every
// concurrent answer must equal its reference (text, tokens, steps, finish); the run prints p50/p99 time to first
// token and aggregate tokens/s, and exits non-zero on any mismatch. It stops by itself.
int clients = Arg("--clients", 32);
int total = Arg("--requests", 128);
int maxTokens = Arg("--max-tokens", 32);
int threads = Arg("--threads", 0);

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["urls"] = "http://127.0.0.1:0",
    ["RecurrentDepth:ModelPath"] = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith"),
    ["RecurrentDepth:Device"] = "cpu",
    ["RecurrentDepth:Threads"] = threads.ToString(CultureInfo.InvariantCulture),
});
builder.Logging.ClearProviders();
builder.AddRecurrentDepthServer();
await using var app = builder.Build();
app.MapRecurrentDepthServer();
await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(10) };
using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(20));

string[] efforts = ["none", "low", "medium", "high"];
string[] problems = ["3+7*9+3=", "1*3+9=", "7+7+7*3=", "9*9+1*7+3=", "2+3=", "5*7*3+9+1=", "8+9*3=", "4*9+7+3*7="];
var distinct = problems.SelectMany((p, i) => efforts.Select(e => new LoadRequest(p, e, maxTokens))).ToList();
var plan = Enumerable.Range(0, total).Select(i => distinct[i % distinct.Count]).ToList();

Console.WriteLine($"server {address}, {distinct.Count} distinct requests run alone first, then {total} requests from {clients} concurrent streaming clients, max_tokens {maxTokens} (ignore_eos), efforts {string.Join('/', efforts)}");
var alone = new Dictionary<LoadRequest, LoadResult>();
foreach (var request in distinct)
{
    alone[request] = await request.RunAsync(http, bound.Token);
}

int next = -1;
var results = new LoadResult[total];
var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
{
    for (int i = Interlocked.Increment(ref next); i < total; i = Interlocked.Increment(ref next))
    {
        results[i] = await plan[i].RunAsync(http, bound.Token);
    }
}));
clock.Stop();

int mismatches = results.Count(r => !r.Matches(alone[r.Request]));
long tokens = results.Sum(r => (long)r.CompletionTokens);
var ttft = results.Select(r => r.FirstToken.TotalMilliseconds).Order().ToArray();
double aloneSeconds = alone.Values.Sum(r => r.Total.TotalSeconds);
long aloneTokens = alone.Values.Sum(r => (long)r.CompletionTokens);
Console.WriteLine($"complete and equal to the request alone: {total - mismatches}/{total}");
foreach (var r in results.Where(r => !r.Matches(alone[r.Request])))
{
    var a = alone[r.Request];
    Console.WriteLine($"  MISMATCH {r.Request.Problem} @ {r.Request.Effort}: alone '{a.Text}' ({a.CompletionTokens} tokens, {a.TotalSteps} steps, {a.Finish}) vs under load '{r.Text}' ({r.CompletionTokens} tokens, {r.TotalSteps} steps, {r.Finish}, done {r.Done})");
}

Console.WriteLine($"time to first token: p50 {Percentile(ttft, 0.50):F1} ms, p99 {Percentile(ttft, 0.99):F1} ms");
Console.WriteLine($"aggregate: {tokens} tokens in {clock.Elapsed.TotalSeconds:F2} s = {tokens / clock.Elapsed.TotalSeconds:F1} tokens/s " +
    $"(one at a time: {aloneTokens / aloneSeconds:F1} tokens/s over the {distinct.Count} reference requests)");
foreach (var effort in efforts)
{
    var mine = results.Where(r => r.Request.Effort == effort).ToList();
    Console.WriteLine($"  {effort,-6}: {mine.Count} requests, mean steps/token {mine.Sum(r => r.TotalSteps) / (double)mine.Sum(r => r.CompletionTokens):F2}, " +
        $"TTFT p50 {Percentile([.. mine.Select(r => r.FirstToken.TotalMilliseconds).Order()], 0.5):F1} ms");
}

await app.StopAsync();
return mismatches == 0 ? 0 : 1;

int Arg(string name, int fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Percentile(double[] sorted, double q) =>
    sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
