using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Endpoints;

/// <summary>Writes a chat-completions stream as Server-Sent Events: one <c>data:</c> line per chunk, flushed at once.</summary>
internal sealed class SseWriter(HttpResponse response)
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] Suffix = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public bool Started { get; private set; }

    /// <summary>Sends the 200 and the event-stream headers; nothing is buffered after this.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        Started = true;
        await response.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteAsync<T>(T payload, CancellationToken cancellationToken)
    {
        var body = response.Body;
        await body.WriteAsync(Prefix, cancellationToken).ConfigureAwait(false);
        await JsonSerializer.SerializeAsync(body, payload, ServerJson.Write, cancellationToken).ConfigureAwait(false);
        await body.WriteAsync(Suffix, cancellationToken).ConfigureAwait(false);
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteDoneAsync(CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Done, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
