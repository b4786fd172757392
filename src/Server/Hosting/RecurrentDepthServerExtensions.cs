using Microsoft.Extensions.AI;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RecurrentDepth.Engine;
using RecurrentDepth.Server.Endpoints;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Hosting;

/// <summary>Builds the OpenAI-compatible server: the same DI registrations as the library, plus the HTTP surface.</summary>
public static class RecurrentDepthServerExtensions
{
    /// <summary>Where the server listens when no URL is configured: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8000";

    /// <summary>
    /// Registers the model (<c>AddRecurrentDepthModel</c>, section <c>RecurrentDepth</c>; the bundled micro model
    /// when <c>ModelPath</c> is not set), the connector's MEAI chat client with OpenTelemetry, <see cref="ServerOptions"/>
    /// (section <c>Server</c>), telemetry, and a loopback URL unless <c>urls</c>, <c>http_ports</c> or
    /// <c>Kestrel:Endpoints</c> say otherwise.
    /// </summary>
    public static WebApplicationBuilder AddRecurrentDepthServer(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddRecurrentDepthModel();
        services.PostConfigure<EngineOptions>(o =>
        {
            if (string.IsNullOrWhiteSpace(o.ModelPath))
            {
                o.ModelPath = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");
            }
        });
        services.AddRecurrentDepthChatClient().UseOpenTelemetry(sourceName: ServerTelemetry.ChatClientSource);

        services.AddOptions<ServerOptions>().Bind(configuration.GetSection(ServerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ServerClock>();
        services.AddSingleton<ChatCompletionsEndpoint>();
        services.AddSingleton<ApiKeyFilter>();
        ServerTelemetry.Add(services, configuration);

        if (string.IsNullOrEmpty(configuration["urls"]) && string.IsNullOrEmpty(configuration["http_ports"]) &&
            string.IsNullOrEmpty(configuration["https_ports"]) && !configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        return builder;
    }

    /// <summary>
    /// Maps <c>POST /v1/chat/completions</c>, <c>GET /v1/models</c> (both behind the API-key check when keys are
    /// configured), <c>GET /health/live</c>, <c>GET /health/ready</c> (the model's health check: 503 while loading or
    /// after a failed load, with the reason), and an OpenAI-shaped 404 for every other path.
    /// </summary>
    public static WebApplication MapRecurrentDepthServer(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var v1 = app.MapGroup("/v1").AddEndpointFilter<ApiKeyFilter>();
        v1.MapPost("/chat/completions", (HttpContext context, ChatCompletionsEndpoint endpoint) => endpoint.HandleAsync(context));
        v1.MapGet("/models", ModelsEndpoint.List);

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = _ => true, ResponseWriter = WriteHealthAsync });
        app.MapFallback((HttpContext context) => ErrorResults.WriteAsync(context, new ApiError(
            StatusCodes.Status404NotFound, $"No route {context.Request.Method} {context.Request.Path}; this server serves /v1/chat/completions, /v1/models, /health/live and /health/ready.",
            ApiError.NotFound, null, "not_found")));
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), reason = e.Value.Description });
        return JsonSerializer.SerializeAsync(context.Response.Body, new { status = report.Status.ToString(), checks }, ServerJson.Write, context.RequestAborted);
    }
}
