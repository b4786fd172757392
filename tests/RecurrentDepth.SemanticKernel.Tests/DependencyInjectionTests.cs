using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.SemanticKernel.Tests.Fakes;

namespace RecurrentDepth.SemanticKernel.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task Service_collection_registers_unkeyed_and_keyed_services()
    {
        var engine = new FakeInferenceEngine();
        var services = new ServiceCollection();
        services.AddSingleton<IInferenceEngine>(engine);
        services.AddRecurrentDepthChatClient();
        services.AddRecurrentDepthChatClient("latent");
        services.AddRecurrentDepthChatCompletion();
        services.AddRecurrentDepthChatCompletion("latent");
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<RecurrentDepthChatClient>(provider.GetRequiredService<IChatClient>());
        Assert.IsType<RecurrentDepthChatClient>(provider.GetRequiredKeyedService<IChatClient>("latent"));
        Assert.IsType<RecurrentDepthChatCompletionService>(provider.GetRequiredService<IChatCompletionService>());
        Assert.IsType<RecurrentDepthChatCompletionService>(provider.GetRequiredKeyedService<IChatCompletionService>("latent"));
        Assert.NotSame(provider.GetRequiredService<IChatClient>(), provider.GetRequiredKeyedService<IChatClient>("latent"));
    }

    [Fact]
    public async Task Keyed_only_registration_leaves_the_unkeyed_slot_free()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IInferenceEngine>(new FakeInferenceEngine());
        services.AddRecurrentDepthChatClient("latent");
        services.AddRecurrentDepthChatCompletion("latent");
        await using var provider = services.BuildServiceProvider();

        Assert.Null(provider.GetService<IChatClient>());
        Assert.Null(provider.GetService<IChatCompletionService>());
        Assert.NotNull(provider.GetKeyedService<IChatCompletionService>("latent"));
    }

    [Fact]
    public async Task Kernel_builder_registers_services_selected_by_service_id()
    {
        var engine = new FakeInferenceEngine();
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<IInferenceEngine>(engine);
        builder.AddRecurrentDepthChatCompletion("latent").AddRecurrentDepthChatClient("latent-client").AddRecurrentDepthChatClient();
        var kernel = builder.Build();

        Assert.IsType<RecurrentDepthChatCompletionService>(kernel.GetRequiredService<IChatCompletionService>("latent"));
        Assert.IsType<RecurrentDepthChatClient>(kernel.GetRequiredService<IChatClient>("latent-client"));
        Assert.IsType<RecurrentDepthChatClient>(kernel.GetRequiredService<IChatClient>());

        var result = await kernel.InvokePromptAsync("q", new KernelArguments(new RecurrentDepthPromptExecutionSettings { ServiceId = "latent", RecurrenceSteps = 7 }));
        Assert.Equal(FakeInferenceEngine.ExpectedText(), result.ToString());
        Assert.Equal(7, engine.LastRequest.Depth.MaxSteps);
    }

    [Fact]
    public async Task Kernel_builder_unkeyed_chat_completion_serves_prompts()
    {
        var builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton<IInferenceEngine>(new FakeInferenceEngine());
        builder.AddRecurrentDepthChatCompletion();
        var kernel = builder.Build();

        Assert.IsType<RecurrentDepthChatCompletionService>(kernel.GetRequiredService<IChatCompletionService>());
        Assert.Equal(FakeInferenceEngine.ExpectedText(), (await kernel.InvokePromptAsync("q")).ToString());
    }

    private const string AppSettings = """
        {
          "RecurrentDepth": {
            "ModelPath": "/models/huginn-0125",
            "ModelId": "huginn-0125",
            "Device": "cpu",
            "MaxQueue": 16,
            "DefaultEffort": "low",
            "RequestTimeout": "00:01:00",
            "EnableEffortFallback": true,
            "EffortProfiles": { "High": { "MaxSteps": 48 }, "None": { "MaxSteps": 2 } }
          }
        }
        """;

    private static HostApplicationBuilder HostFromJson(string json)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        return builder;
    }

    [Fact]
    public async Task Generic_host_configured_from_json_resolves_both_services_over_a_fake_engine()
    {
        var engine = new FakeInferenceEngine("huginn-0125");
        var builder = HostFromJson(AppSettings);
        builder.Services.AddSingleton<IInferenceEngine>(engine);
        builder.Services.AddRecurrentDepthChatClient();
        builder.Services.AddRecurrentDepthChatCompletion();
        using var host = builder.Build();
        await host.StartAsync();

        var options = host.Services.GetRequiredService<IOptions<RecurrentDepthOptions>>().Value;
        Assert.Equal(("low", true, TimeSpan.FromMinutes(1)), (options.DefaultEffort, options.EnableEffortFallback, options.RequestTimeout));
        // A partial profile override keeps the rest of the default profile.
        Assert.Equal(new EffortProfile { MaxSteps = 48, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }, options.EffortProfiles.High);
        Assert.Equal(EffortProfile.Fixed(2), options.EffortProfiles.None);

        var client = host.Services.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync("q");
        Assert.Equal(8, engine.LastRequest.Depth.MaxSteps);
        Assert.Equal(FakeInferenceEngine.ExpectedText(), response.Text);

        var chat = host.Services.GetRequiredService<IChatCompletionService>();
        await chat.GetChatMessageContentAsync("q", new RecurrentDepthPromptExecutionSettings { ThinkingEffort = ThinkingEffort.High });
        Assert.Equal(48, engine.LastRequest.Depth.MaxSteps);
        await host.StopAsync();
    }

    [Fact]
    public async Task Add_model_registers_one_model_host_as_engine_hosted_service_and_health_check()
    {
        var builder = HostFromJson(AppSettings);
        builder.Services.AddRecurrentDepthModel();
        builder.Services.AddRecurrentDepthModel();
        builder.Services.AddRecurrentDepthChatClient();
        using var host = builder.Build();

        var modelHost = host.Services.GetRequiredService<ModelHost>();
        Assert.Same(modelHost, host.Services.GetRequiredService<IInferenceEngine>());
        Assert.Same(modelHost, Assert.Single(host.Services.GetServices<IHostedService>().OfType<ModelHost>()));
        Assert.Equal("huginn-0125", modelHost.ModelId);
        var engineOptions = host.Services.GetRequiredService<IOptions<EngineOptions>>().Value;
        Assert.Equal(("/models/huginn-0125", "cpu", 16), (engineOptions.ModelPath, engineOptions.Device, engineOptions.MaxQueue));

        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var entry = Assert.Single(health.Entries);
        Assert.Equal(RecurrentDepthModelServiceCollectionExtensions.HealthCheckName, entry.Key);
        Assert.Equal(HealthStatus.Unhealthy, entry.Value.Status); // not started: still loading
    }

    [Fact]
    public async Task Add_model_with_a_section_binds_that_section()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Models:Latent:ModelPath"] = "/models/x",
            ["Models:Latent:MaxBatch"] = "2",
        }).Build();
        var services = new ServiceCollection();
        services.AddRecurrentDepthModel(configuration.GetSection("Models:Latent"));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<EngineOptions>>().Value;
        Assert.Equal(("/models/x", 2), (options.ModelPath, options.MaxBatch));
    }

    [Fact]
    public async Task Invalid_options_fail_at_start_naming_each_option()
    {
        var builder = HostFromJson("""
            { "RecurrentDepth": { "MaxBatch": 0, "Device": "tpu", "DefaultEffort": "ultra", "RequestTimeout": "00:00:00",
              "EffortProfiles": { "Low": { "MaxSteps": 0 } } } }
            """);
        builder.Services.AddRecurrentDepthModel();
        builder.Services.AddRecurrentDepthChatClient();
        using var host = builder.Build();

        // The model's and the chat services' options are validated separately; the host reports both together.
        var error = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync());

        var failures = error.InnerExceptions.Cast<OptionsValidationException>().ToList();
        Assert.Equal([typeof(EngineOptions), typeof(RecurrentDepthOptions)], failures.Select(f => f.OptionsType).Order(Comparer<Type>.Create((a, b) => string.CompareOrdinal(a.Name, b.Name))));
        var message = string.Join("\n", failures.SelectMany(f => f.Failures));
        foreach (var option in new[] { "RecurrentDepth:ModelPath", "RecurrentDepth:MaxBatch", "RecurrentDepth:Device", "RecurrentDepth:DefaultEffort", "RecurrentDepth:RequestTimeout", "RecurrentDepth:EffortProfiles:Low" })
        {
            Assert.Contains(option, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Chat_services_without_the_model_do_not_require_a_model_path()
    {
        var builder = HostFromJson("""{ "RecurrentDepth": { "DefaultEffort": "xhigh" } }""");
        var engine = new FakeInferenceEngine();
        builder.Services.AddSingleton<IInferenceEngine>(engine);
        builder.Services.AddRecurrentDepthChatCompletion();
        using var host = builder.Build();

        // Starting validates only the chat services' options (no ModelPath anywhere), and the service they build
        // answers over the registered engine with the configured default effort (xhigh: 64 steps).
        await host.StartAsync();
        var reply = await host.Services.GetRequiredService<IChatCompletionService>().GetChatMessageContentAsync(new ChatHistory("q"));
        await host.StopAsync();

        Assert.Equal(FakeInferenceEngine.ExpectedText(), reply.Content);
        Assert.Equal(64, engine.LastRequest.Depth.MaxSteps);
        Assert.Empty(host.Services.GetServices<IValidateOptions<EngineOptions>>());
    }
}
