using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;

namespace RecurrentDepth.Server.Tests;

/// <summary>The server's OpenTelemetry wiring and its option checks at start-up.</summary>
public sealed class TelemetryAndOptionsTests
{
    [Fact]
    public async Task A_chat_request_is_traced_by_ASP_NET_Core_with_the_generation_span_inside_it()
    {
        var spans = new List<Activity>();
        var trace = ActivityTraceId.CreateRandom();
        await using (var host = await ServerHost.StartAsync(services: s => s.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(spans))))
        {
            // A caller's trace context, so this request's spans can be told from those of tests running in parallel.
            var message = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { messages = new[] { Wire.User("1+3=") }, reasoning_effort = "low" }),
            };
            message.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
            using var response = await host.Http.SendAsync(message);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The host is disposed: the tracer provider has flushed every finished span.
        var mine = spans.Where(a => a.TraceId == trace).ToList();
        var request = Assert.Single(mine, a => a.Kind == ActivityKind.Server);
        Assert.Equal("/v1/chat/completions", request.GetTagItem("http.route"));
        Assert.Equal("low", request.GetTagItem("recurrent_depth.requested_effort"));
        Assert.Single(mine, a => a.Source.Name == RecurrentDepth.SemanticKernel.RecurrentDepthTelemetry.SourceName);
        Assert.Single(mine, a => a.Source.Name == RecurrentDepth.Server.Hosting.ServerTelemetry.ChatClientSource);
    }

    [Fact]
    public async Task Invalid_server_options_stop_the_host_at_start_naming_each_option()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => ServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["Server:MaxTokens"] = "0",
            ["Server:MaxRequestBodyBytes"] = "10",
        }));

        Assert.Contains("Server:MaxTokens must be at least 1", error.Message);
        Assert.Contains("Server:MaxRequestBodyBytes must be at least 1024", error.Message);
    }
}
