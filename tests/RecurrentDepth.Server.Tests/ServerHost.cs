using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RecurrentDepth.Engine;
using RecurrentDepth.Server.Hosting;

namespace RecurrentDepth.Server.Tests;

/// <summary>
/// The server as <c>Program</c> builds it (the same two extension calls), on real Kestrel at 127.0.0.1 with a free
/// port, serving the bundled micro model with one torch thread.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private ServerHost(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public Uri V1 => new(BaseAddress, "/v1");

    public HttpClient Http { get; }

    public IInferenceEngine Engine => App.Services.GetRequiredService<IInferenceEngine>();

    public static string ModelPath => Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");

    public const string ModelId = "huginn-micro-arith";

    /// <summary>Starts a server; <paramref name="settings"/> add configuration keys; <paramref name="services"/> run before the server's registrations.</summary>
    public static async Task<ServerHost> StartAsync(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, bool waitForModel = true)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RecurrentDepth:ModelPath"] = ModelPath,
            ["RecurrentDepth:Device"] = "cpu",
            ["RecurrentDepth:Threads"] = "1",
            ["urls"] = "http://127.0.0.1:0",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        builder.AddRecurrentDepthServer();
        var app = builder.Build();
        app.MapRecurrentDepthServer();
        await app.StartAsync();
        if (waitForModel && app.Services.GetRequiredService<IInferenceEngine>() is ModelHost host)
        {
            await host.WhenLoaded;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ServerHost(app, new Uri(address));
    }

    /// <summary>POSTs <paramref name="body"/> (an object serialised as JSON) to /v1/chat/completions.</summary>
    public Task<HttpResponseMessage> PostChatAsync(object body, string? apiKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(body) };
        if (apiKey is not null)
        {
            request.Headers.Authorization = new("Bearer", apiKey);
        }

        return Http.SendAsync(request);
    }

    /// <summary>Opens a streaming request and returns once the response headers arrived.</summary>
    public async Task<SseStream> OpenStreamAsync(object body, CancellationToken cancellationToken = default)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return new SseStream(client, response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
