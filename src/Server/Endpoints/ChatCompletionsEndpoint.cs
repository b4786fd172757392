using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using RecurrentDepth.Engine;
using RecurrentDepth.Server.Hosting;
using RecurrentDepth.Server.Translation;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Endpoints;

/// <summary>
/// <c>POST /v1/chat/completions</c> over the registered MEAI <see cref="IChatClient"/> (the connector's client over
/// the hosted model). Each request runs under a token cancelled when the client disconnects or the host stops; a
/// host stop ends the answer with <c>finish_reason: "cancelled"</c> rather than a silently truncated success.
/// </summary>
internal sealed class ChatCompletionsEndpoint(
    IChatClient client,
    IInferenceEngine engine,
    IOptions<ServerOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ChatCompletionsEndpoint> logger)
{
    private readonly ServerOptions _limits = options.Value;

    public async Task HandleAsync(HttpContext context)
    {
        TranslatedRequest request;
        try
        {
            var body = await ReadBodyAsync(context).ConfigureAwait(false);
            if (ErrorResults.NotServing(engine, _limits.RetryAfterSeconds) is { } notServing)
            {
                throw notServing;
            }

            request = RequestTranslator.Translate(body, _limits, engine.ModelId);
        }
        catch (ApiError error)
        {
            await RejectAsync(context, error).ConfigureAwait(false);
            return;
        }

        Activity.Current?.SetTag("recurrent_depth.requested_effort", request.RequestedEffort);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var answer = new Answer(context, request, $"chatcmpl-{Guid.NewGuid():N}", time.GetUtcNow().ToUnixTimeSeconds(), engine.ModelId);
        try
        {
            if (request.Stream)
            {
                await StreamAsync(answer, cts.Token).ConfigureAwait(false);
            }
            else
            {
                await RespondAsync(answer, cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its generation was cancelled with the token. Nobody is left to answer.
            Log(answer, "client_disconnected");
        }
        catch (Exception error) when (!answer.Sse.Started && !lifetime.ApplicationStopping.IsCancellationRequested)
        {
            var api = ErrorResults.FromException(error, _limits.RetryAfterSeconds);
            if (api.Status >= 500)
            {
                logger.LogError(error, "Request {RequestId} failed: {Message}", context.TraceIdentifier, error.Message);
            }

            await RejectAsync(context, api).ConfigureAwait(false);
        }
        catch (Exception error) when (answer.Sse.Started && !lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Headers are gone: report in-stream, as OpenAI does, then end the stream.
            logger.LogError(error, "Request {RequestId} failed mid-stream: {Message}", context.TraceIdentifier, error.Message);
            var api = ErrorResults.FromException(error, _limits.RetryAfterSeconds);
            await answer.Sse.WriteAsync(api.ToEnvelope(), CancellationToken.None).ConfigureAwait(false);
            await answer.Sse.WriteDoneAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            await FinishCancelledAsync(answer).ConfigureAwait(false);
        }
    }

    private async Task<ChatCompletionRequest> ReadBodyAsync(HttpContext context)
    {
        long limit = _limits.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        try
        {
            return await JsonSerializer.DeserializeAsync<ChatCompletionRequest>(context.Request.Body, ServerJson.Read, context.RequestAborted).ConfigureAwait(false)
                ?? throw ApiError.BadRequest("body", "The request body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            // System.Text.Json reports a value of the wrong type with this wording; anything else is malformed JSON.
            string? field = ServerJson.FieldOf(ex.Path);
            bool wrongType = ex.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);
            throw field is not null && wrongType
                ? ApiError.BadRequest(field, $"The field '{field}' has a value of the wrong type.", "invalid_type")
                : ApiError.BadRequest("body", $"The request body is not valid JSON{(field is null ? "" : $" (at {field})")}.", "invalid_json");
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(limit);
        }
    }

    private static ApiError TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than this server accepts ({limit} bytes; Server:MaxRequestBodyBytes).", ApiError.InvalidRequest, "body", "request_too_large");

    private async Task RespondAsync(Answer answer, CancellationToken cancellationToken)
    {
        await foreach (var update in client.GetStreamingResponseAsync(answer.Request.Messages, answer.Request.Options, cancellationToken).ConfigureAwait(false))
        {
            answer.Collected.Add(update);
        }

        await answer.Context.Response.WriteAsJsonAsync(answer.Completion(), ServerJson.Write, CancellationToken.None).ConfigureAwait(false);
        Log(answer, answer.Collected.FinishReason);
    }

    private async Task StreamAsync(Answer answer, CancellationToken cancellationToken)
    {
        await using var updates = client.GetStreamingResponseAsync(answer.Request.Messages, answer.Request.Options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        // Wait for the first update before sending headers, so admission errors (429, 503, 400) keep their status.
        bool any = await updates.MoveNextAsync().ConfigureAwait(false);
        await answer.Sse.StartAsync(cancellationToken).ConfigureAwait(false);
        await answer.Sse.WriteAsync(answer.Chunk(new ChunkDelta("assistant", "")), cancellationToken).ConfigureAwait(false);
        for (; any; any = await updates.MoveNextAsync().ConfigureAwait(false))
        {
            var (text, calls) = answer.Collected.Add(updates.Current);
            if (text.Length > 0 || calls.Count > 0)
            {
                await answer.Sse.WriteAsync(answer.Chunk(new ChunkDelta(null, text.Length > 0 ? text : null, calls.Count > 0 ? calls : null)), cancellationToken).ConfigureAwait(false);
            }
        }

        await answer.Sse.WriteAsync(answer.Chunk(new ChunkDelta(null, null), answer.Collected.FinishReason), cancellationToken).ConfigureAwait(false);
        if (answer.Request.IncludeUsage)
        {
            await answer.Sse.WriteAsync(answer.UsageChunk(answer.Collected.Usage), cancellationToken).ConfigureAwait(false);
        }

        await answer.Sse.WriteDoneAsync(cancellationToken).ConfigureAwait(false);
        Log(answer, answer.Collected.FinishReason);
    }

    /// <summary>The host is stopping: end the answer explicitly as cancelled, with the text produced so far.</summary>
    private async Task FinishCancelledAsync(Answer answer)
    {
        const string Cancelled = "cancelled";
        try
        {
            if (!answer.Request.Stream)
            {
                await answer.Context.Response.WriteAsJsonAsync(answer.Completion(Cancelled), ServerJson.Write, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                if (!answer.Sse.Started)
                {
                    await answer.Sse.StartAsync(CancellationToken.None).ConfigureAwait(false);
                }

                await answer.Sse.WriteAsync(answer.Chunk(new ChunkDelta(null, null), Cancelled), CancellationToken.None).ConfigureAwait(false);
                await answer.Sse.WriteDoneAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The connection closed first; there is no one left to tell.
        }

        Log(answer, Cancelled);
    }

    private Task RejectAsync(HttpContext context, ApiError error)
    {
        logger.LogInformation("Request {RequestId} rejected: {Status} {Code} {Param}: {Message}", context.TraceIdentifier, error.Status, error.Code, error.Param, error.Message);
        return ErrorResults.WriteAsync(context, error);
    }

    private void Log(Answer answer, string finish)
    {
        var usage = answer.Collected.Usage;
        logger.LogInformation(
            "Request {RequestId} {Stream} effort {Effort} finish {Finish}: prompt {PromptTokens} completion {CompletionTokens} tokens, steps mean {MeanSteps:F2} max {MaxSteps}",
            answer.Context.TraceIdentifier, answer.Request.Stream ? "stream" : "completion", answer.Request.RequestedEffort, finish,
            usage?.PromptTokens, usage?.CompletionTokens, usage?.LatentCompute?.MeanRecurrenceSteps, usage?.LatentCompute?.MaxRecurrenceSteps);
    }

    /// <summary>One answer in the making: its identity, what has been generated, and the stream writer.</summary>
    private sealed class Answer(HttpContext context, TranslatedRequest request, string id, long created, string model)
    {
        public HttpContext Context { get; } = context;
        public TranslatedRequest Request { get; } = request;
        public ResponseAccumulator Collected { get; } = new();
        public SseWriter Sse { get; } = new(context.Response);

        public ChatCompletion Completion(string? finish = null) =>
            new(id, created, model, [new CompletionChoice(0, new AssistantMessage(Collected.Text, Collected.ToolCalls), finish ?? Collected.FinishReason)], Collected.Usage);

        public ChatCompletionChunk Chunk(ChunkDelta delta, string? finish = null) =>
            new(id, created, model, [new ChunkChoice(0, delta, finish)], null);

        public ChatCompletionChunk UsageChunk(WireUsage? usage) => new(id, created, model, [], usage);
    }
}
