using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RecurrentDepth.SemanticKernel;

namespace RecurrentDepth.Server.Hosting;

/// <summary>
/// OpenTelemetry for the server: traces of ASP.NET Core requests, the connector's generations and MEAI's chat spans;
/// metrics of ASP.NET Core and Kestrel plus the connector's latent-compute meters. Exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is configured (environment or configuration); otherwise collected for
/// in-process listeners only.
/// </summary>
internal static class ServerTelemetry
{
    /// <summary>MEAI's <c>UseOpenTelemetry()</c> source and meter.</summary>
    public const string ChatClientSource = "Experimental.Microsoft.Extensions.AI";

    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? "RecurrentDepth.Server"))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments("/health"))
                .AddSource(RecurrentDepthTelemetry.SourceName, ChatClientSource))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddMeter(RecurrentDepthTelemetry.MeterName, ChatClientSource, "Microsoft.AspNetCore.Server.Kestrel"));
        if (!string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }
    }
}
