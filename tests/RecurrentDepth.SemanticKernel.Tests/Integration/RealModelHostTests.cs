using System.Text;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests.Integration;

/// <summary>
/// The connector over the real engine and the real (tiny, random-weight) fixture checkpoint, hosted the way an
/// application hosts it: a generic host configured from JSON only.
/// </summary>
public sealed class RealModelHostTests
{
    internal static string TinyModel => Path.Combine(AppContext.BaseDirectory, "fixtures", "huginn-tiny");

    internal static async Task<IHost> StartHostAsync(string modelPath, string extraJson = "", string dtype = "float32")
    {
        var json = $$"""
            {
              "RecurrentDepth": {
                "ModelPath": {{System.Text.Json.JsonSerializer.Serialize(modelPath)}},
                "Device": "cpu",
                "DType": "{{dtype}}",
                "MaxBatch": 4,
                "DefaultMaxTokens": 8{{extraJson}}
              }
            }
            """;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        builder.Services.AddRecurrentDepthModel(builder.Configuration.GetSection("RecurrentDepth"));
        builder.Services.AddKernel().AddRecurrentDepthChatCompletion();
        builder.Services.AddRecurrentDepthChatClient();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<HealthReport> HealthAsync(IHost host) => await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    [Fact]
    public async Task A_host_configured_only_from_json_loads_the_model_and_answers_through_kernel_and_chat_client()
    {
        using var host = await StartHostAsync(TinyModel);
        var modelHost = host.Services.GetRequiredService<ModelHost>();
        await modelHost.WhenLoaded;
        Assert.Equal(HealthStatus.Healthy, (await HealthAsync(host)).Status);

        var kernel = host.Services.GetRequiredService<Kernel>();
        var result = await kernel.InvokePromptAsync("Hello", new(new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.Low, Seed = 1 }));
        var usage = Assert.IsType<UsageDetails>(result.Metadata![K.Usage]);
        Assert.True(usage.OutputTokenCount is > 0 and <= 8);
        Assert.Equal(8.0, Convert.ToDouble(result.Metadata[K.MeanSteps], System.Globalization.CultureInfo.InvariantCulture));

        var client = host.Services.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync("Hello", new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.High }, Seed = 1 });
        Assert.True(response.Usage!.OutputTokenCount > 0);
        Assert.Equal(32, response.Usage.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.True(response.Usage.AdditionalCounts[K.MaxSteps] <= 32);
        await host.StopAsync();
    }

    [Theory]
    [InlineData("none", 4, true)]
    [InlineData("minimal", 4, true)]
    [InlineData("low", 8, true)]
    [InlineData("medium", 16, false)]
    [InlineData("high", 32, false)]
    [InlineData("xhigh", 64, false)]
    [InlineData("adaptive", 64, false)]
    public async Task Reported_steps_per_token_follow_the_effort_table_on_the_real_engine(string effort, int maxSteps, bool fixedDepth)
    {
        using var host = await StartHostAsync(TinyModel);
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        var chat = host.Services.GetRequiredService<IChatCompletionService>();
        var settings = new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["reasoning_effort"] = effort, ["seed"] = 3 } };
        var reply = await chat.GetChatMessageContentAsync(new ChatHistory("Think about this."), settings);

        var m = reply.Metadata!;
        Assert.Equal((long)maxSteps, Convert.ToInt64(m[K.AppliedMaxSteps], System.Globalization.CultureInfo.InvariantCulture));
        int max = Convert.ToInt32(m[K.MaxSteps], System.Globalization.CultureInfo.InvariantCulture);
        double mean = Convert.ToDouble(m[K.MeanSteps], System.Globalization.CultureInfo.InvariantCulture);
        // fp32 K+V of the tiny model: 2 × 4 heads × 16 × 4 B = 512 B per slot; at least prelude 2 + core 4 + coda 2 slots per token.
        Assert.True(Convert.ToDouble(m[K.KvBytesPerToken], System.Globalization.CultureInfo.InvariantCulture) >= 8 * 512);
        if (fixedDepth)
        {
            // Every token ran exactly maxSteps recurrences: prelude 2 + core 4·r + coda 2 slots each.
            Assert.Equal((2 + 4 * maxSteps + 2) * 512.0, Convert.ToDouble(m[K.KvBytesPerToken], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(maxSteps, max);
            Assert.Equal(maxSteps, mean);
            Assert.Equal(1.0, Convert.ToDouble(m[K.CapHitShare], System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            Assert.InRange(max, 1, maxSteps);
            Assert.InRange(mean, 1, maxSteps);
            Assert.Equal("kl", m[K.ExitCriterion]);
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task Streaming_and_non_streaming_give_the_same_greedy_text_and_usage()
    {
        using var host = await StartHostAsync(TinyModel);
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        var client = host.Services.GetRequiredService<IChatClient>();
        var options = new ChatOptions { MaxOutputTokens = 10, AdditionalProperties = new() { ["thinking_effort"] = "low" } };

        var whole = await client.GetResponseAsync("Tell me something", options);
        var streamed = new StringBuilder();
        UsageDetails? streamedUsage = null;
        await foreach (var update in client.GetStreamingResponseAsync("Tell me something", options))
        {
            streamed.Append(update.Text);
            streamedUsage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? streamedUsage;
        }

        Assert.Equal(whole.Text, streamed.ToString());
        Assert.NotNull(streamedUsage);
        Assert.Equal(whole.Usage!.OutputTokenCount, streamedUsage!.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, streamedUsage.InputTokenCount);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_missing_model_path_reports_unhealthy_with_the_reason_and_requests_fail_fast()
    {
        var missing = Path.Combine(Path.GetTempPath(), "rdsk-no-such-model-" + Guid.NewGuid().ToString("N"));
        using var host = await StartHostAsync(missing);
        var modelHost = host.Services.GetRequiredService<ModelHost>();
        await Assert.ThrowsAnyAsync<Exception>(() => modelHost.WhenLoaded);

        var entry = Assert.Single((await HealthAsync(host)).Entries).Value;
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains(missing, entry.Description, StringComparison.Ordinal);

        var chat = host.Services.GetRequiredService<IChatCompletionService>();
        var error = await Assert.ThrowsAsync<ModelNotReadyException>(() => chat.GetChatMessageContentAsync(new ChatHistory("hi")));
        Assert.Contains("failed to load", error.Message, StringComparison.Ordinal);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_corrupt_checkpoint_reports_unhealthy_naming_the_file()
    {
        var folder = Directory.CreateTempSubdirectory("rdsk-corrupt-").FullName;
        foreach (var file in Directory.GetFiles(TinyModel).Where(f => !Path.GetFileName(f).StartsWith("golden", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var weights = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]); // truncated download
        using var host = await StartHostAsync(folder);
        await Assert.ThrowsAnyAsync<Exception>(() => host.Services.GetRequiredService<ModelHost>().WhenLoaded);

        var entry = Assert.Single((await HealthAsync(host)).Entries).Value;
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("model.safetensors", entry.Description, StringComparison.Ordinal);
        await host.StopAsync();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Health_goes_from_loading_to_healthy()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Services.AddRecurrentDepthModel(o => { o.ModelPath = TinyModel; o.Device = "cpu"; });
        using var host = builder.Build();
        var before = await HealthAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Contains("loading", Assert.Single(before.Entries).Value.Description, StringComparison.Ordinal);

        await host.StartAsync();
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        Assert.Equal(HealthStatus.Healthy, (await HealthAsync(host)).Status);
        await host.StopAsync();
        Assert.Equal(HealthStatus.Unhealthy, (await HealthAsync(host)).Status);
    }

    [Fact]
    public async Task An_agent_framework_agent_runs_over_the_real_engine_with_a_per_run_effort()
    {
        using var host = await StartHostAsync(TinyModel);
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        var agent = new ChatClientAgent(host.Services.GetRequiredService<IChatClient>(), instructions: "Be brief.", name: "latent");

        var quick = await agent.RunAsync("Hi", options: new ChatClientAgentRunOptions(new ChatOptions { Reasoning = new ReasoningOptions { Effort = ReasoningEffort.Low } }));
        var deep = await agent.RunAsync("Hi", options: new ChatClientAgentRunOptions(new ChatOptions { AdditionalProperties = new() { ["thinking_effort"] = "none" } }));

        Assert.Equal(8, quick.Usage!.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.Equal(4, deep.Usage!.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.Equal(4000, deep.Usage.AdditionalCounts[K.MeanStepsX1000]);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_request_sent_while_the_model_loads_waits_for_it()
    {
        using var host = await StartHostAsync(TinyModel); // returns once the host has started; the load runs in the background
        var client = host.Services.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync("Hello", new ChatOptions { MaxOutputTokens = 3 });
        Assert.True(response.Usage!.OutputTokenCount > 0);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_request_to_a_host_that_never_started_fails_fast_saying_so()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Services.AddRecurrentDepthModel(o => { o.ModelPath = TinyModel; o.Device = "cpu"; });
        builder.Services.AddRecurrentDepthChatClient();
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<ModelNotReadyException>(() => host.Services.GetRequiredService<IChatClient>().GetResponseAsync("Hello"));
        Assert.Contains("has not started", error.Message, StringComparison.Ordinal);
    }
}
