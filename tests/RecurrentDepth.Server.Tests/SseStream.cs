using System.Text.Json;

namespace RecurrentDepth.Server.Tests;

/// <summary>A client's view of a Server-Sent Events answer: reads one <c>data:</c> payload at a time.</summary>
public sealed class SseStream(HttpClient client, HttpResponseMessage response, Stream body) : IDisposable
{
    private readonly StreamReader _reader = new(body);

    public HttpResponseMessage Response => response;

    /// <summary>The next data payload; null at the end of the stream.</summary>
    public async Task<string?> NextAsync()
    {
        while (await _reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return line["data: ".Length..];
            }
        }

        return null;
    }

    /// <summary>Every remaining payload, up to and including <c>[DONE]</c>.</summary>
    public async Task<List<string>> ReadToEndAsync()
    {
        var events = new List<string>();
        while (await NextAsync() is { } data)
        {
            events.Add(data);
            if (data == "[DONE]")
            {
                break;
            }
        }

        return events;
    }

    /// <summary>Reads until a chunk with content arrives (the model is generating).</summary>
    public async Task<string> NextContentAsync()
    {
        while (await NextAsync() is { } data)
        {
            if (data != "[DONE]" && ContentOf(data) is { Length: > 0 } content)
            {
                return content;
            }
        }

        throw new InvalidOperationException("The stream ended before any content.");
    }

    public static string? ContentOf(string data)
    {
        using var doc = JsonDocument.Parse(data);
        var choices = doc.RootElement.GetProperty("choices");
        return choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
    }

    /// <summary>Closes the connection, as a client that goes away does.</summary>
    public void Dispose()
    {
        _reader.Dispose();
        response.Dispose();
        client.Dispose();
    }
}
