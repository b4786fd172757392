using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace RecurrentDepth.ServerLoad;

/// <summary>One streaming chat request of the load run, and what a client saw of it.</summary>
internal sealed record LoadRequest(string Problem, string Effort, int MaxTokens)
{
    public string Body => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["messages"] = new[] { new { role = "user", content = Problem } },
        ["reasoning_effort"] = Effort,
        ["max_tokens"] = MaxTokens,
        ["ignore_eos"] = true,
        ["stream"] = true,
        ["stream_options"] = new { include_usage = true },
    });

    /// <summary>Sends the request and reads its stream to the end.</summary>
    public async Task<LoadResult> RunAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var text = new StringBuilder();
        TimeSpan? firstToken = null;
        int completionTokens = -1;
        long steps = -1;
        string? finish = null;
        bool done = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            string data = line[6..];
            if (data == "[DONE]")
            {
                done = true;
                break;
            }

            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            if (root.GetProperty("choices") is { } choices && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                if (choice.GetProperty("delta").TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 } piece)
                {
                    firstToken ??= Stopwatch.GetElapsedTime(started);
                    text.Append(piece);
                }

                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    finish = choice.GetProperty("finish_reason").GetString();
                }
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                completionTokens = usage.GetProperty("completion_tokens").GetInt32();
                steps = usage.GetProperty("latent_compute").GetProperty("total_recurrence_steps").GetInt64();
            }
        }

        return new LoadResult(this, text.ToString(), completionTokens, steps, finish, done, firstToken ?? Stopwatch.GetElapsedTime(started), Stopwatch.GetElapsedTime(started));
    }
}

/// <summary>What a client saw: the text, usage and finish, whether [DONE] came, and its times.</summary>
internal sealed record LoadResult(LoadRequest Request, string Text, int CompletionTokens, long TotalSteps, string? Finish, bool Done, TimeSpan FirstToken, TimeSpan Total)
{
    /// <summary>Same answer as <paramref name="alone"/> (text, tokens, steps, finish) and complete.</summary>
    public bool Matches(LoadResult alone) =>
        Done && Text == alone.Text && CompletionTokens == alone.CompletionTokens && TotalSteps == alone.TotalSteps && Finish == alone.Finish;
}
