using System.Net;
using System.Text.Json;

namespace RecurrentDepth.Server.Tests;

/// <summary>Models, health, the wire details of streaming, and the extra body fields.</summary>
[Collection(ServedCollection.Name)]
public sealed class EndpointTests(ServedModel served)
{
    [Fact]
    public async Task Models_lists_the_loaded_model_with_its_depth_range()
    {
        using var doc = JsonDocument.Parse(await served.Host.Http.GetStringAsync("/v1/models"));
        var model = Assert.Single(doc.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal("list", doc.RootElement.GetProperty("object").GetString());
        Assert.Equal(ServerHost.ModelId, model.GetProperty("id").GetString());
        Assert.Equal("model", model.GetProperty("object").GetString());
        var depth = model.GetProperty("recurrence");
        Assert.Equal(1, depth.GetProperty("min_steps").GetInt32());
        Assert.Equal(64, depth.GetProperty("max_steps").GetInt32());
        Assert.Equal(32, depth.GetProperty("effort_max_steps").GetProperty("high").GetInt32());
    }

    [Fact]
    public async Task Health_live_and_ready_are_200_when_serving()
    {
        using var live = await served.Host.Http.GetAsync("/health/live");
        using var ready = await served.Host.Http.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var doc = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", doc.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Stream_ends_with_finish_reason_then_one_usage_chunk_then_DONE()
    {
        using var stream = await served.Host.OpenStreamAsync(new
        {
            messages = new[] { Wire.User("3+7=") },
            stream = true,
            stream_options = new { include_usage = true },
            max_tokens = 5,
            ignore_eos = true,
            recurrence_steps = 6,
        });
        var events = await stream.ReadToEndAsync();

        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        using var usageChunk = JsonDocument.Parse(events[^2]);
        Assert.Equal(0, usageChunk.RootElement.GetProperty("choices").GetArrayLength());
        var usage = usageChunk.RootElement.GetProperty("usage");
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(30, usage.GetProperty("latent_compute").GetProperty("total_recurrence_steps").GetInt64());
        Assert.Equal("recurrence_steps", usage.GetProperty("latent_compute").GetProperty("depth_source").GetString());
        using var finish = JsonDocument.Parse(events[^3]);
        Assert.Equal("length", finish.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Streamed_text_and_steps_equal_non_streamed_for_a_sampled_seeded_request()
    {
        var body = new Dictionary<string, object>
        {
            ["messages"] = new[] { Wire.User("9*3+7=") },
            ["temperature"] = 0.9,
            ["seed"] = 11,
            ["max_tokens"] = 24,
            ["ignore_eos"] = true,
            ["thinking_effort"] = "medium",
        };
        using var whole = await served.Host.PostChatAsync(body);
        string wholeJson = await whole.Content.ReadAsStringAsync();
        body["stream"] = true;
        body["stream_options"] = new { include_usage = true };
        using var stream = await served.Host.OpenStreamAsync(body);
        var events = await stream.ReadToEndAsync();

        using var doc = JsonDocument.Parse(wholeJson);
        string expected = doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(24, doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(expected, string.Concat(events.Where(e => e != "[DONE]").Select(SseStream.ContentOf)));
        Assert.Equal(
            Wire.LatentCompute(wholeJson).GetProperty("total_recurrence_steps").GetInt64(),
            Wire.LatentCompute(events[^2]).GetProperty("total_recurrence_steps").GetInt64());
    }

    [Fact]
    public async Task Text_parts_system_and_developer_messages_are_accepted()
    {
        using var response = await served.Host.PostChatAsync(new
        {
            messages = new object[]
            {
                new { role = "developer", content = "Answer with one digit." },
                new { role = "user", content = new[] { new { type = "text", text = "3+" }, new { type = "text", text = "7=" } } },
            },
            max_completion_tokens = 3,
            reasoning = new { effort = "minimal" },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var latent = Wire.LatentCompute(await response.Content.ReadAsStringAsync());
        Assert.Equal(4, latent.GetProperty("applied_max_steps").GetInt32());
        Assert.Equal("reasoning_effort", latent.GetProperty("depth_source").GetString());
    }

    [Fact]
    public async Task A_client_that_disconnects_frees_its_sequence_while_another_stream_continues()
    {
        var engine = served.Host.Engine;
        object Long() => new { messages = new[] { Wire.User("3+7*9=") }, stream = true, ignore_eos = true, max_tokens = 1000, recurrence_steps = 64 };
        using var stays = await served.Host.OpenStreamAsync(Long());
        var leaves = await served.Host.OpenStreamAsync(Long());
        await stays.NextContentAsync();
        await leaves.NextContentAsync();
        Assert.Equal(2, engine.CurrentLoad.ActiveSequences);

        leaves.Dispose();
        await Eventually.TrueAsync(() => engine.CurrentLoad.ActiveSequences == 1, "the disconnected client's sequence to be freed");

        // The other stream is still being generated: new tokens keep arriving.
        for (int i = 0; i < 5; i++)
        {
            Assert.NotEmpty(await stays.NextContentAsync());
        }

        Assert.Equal(1, engine.CurrentLoad.ActiveSequences);
        stays.Dispose();
        await Eventually.TrueAsync(() => engine.CurrentLoad.ActiveSequences == 0, "the second sequence to be freed");
    }
}

/// <summary>Tools and response formats reach the connector, whose behaviour shows through the server.</summary>
[Collection(ServedCollection.Name)]
public sealed class ToolPassThroughTests(ServedModel served)
{
    private static readonly object Tool = new { type = "function", function = new { name = "add", description = "Adds two digits.", parameters = new { type = "object", properties = new { a = new { type = "integer" } } } } };

    [Fact]
    public async Task A_required_tool_call_is_answered_with_a_call_of_that_tool()
    {
        using var response = await served.Host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") }, tools = new[] { Tool }, tool_choice = "required", max_tokens = 64 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var function = choice.GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function");
        Assert.Equal("add", function.GetProperty("name").GetString());
        using var arguments = JsonDocument.Parse(function.GetProperty("arguments").GetString()!);
        Assert.Equal(JsonValueKind.Object, arguments.RootElement.ValueKind);
    }

    [Fact]
    public async Task A_required_tool_call_that_cannot_fit_in_max_tokens_is_a_clear_400()
    {
        using var response = await served.Host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") }, tools = new[] { Tool }, tool_choice = "required", max_tokens = 8 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var body = error.RootElement.GetProperty("error");
        Assert.Equal("invalid_value", body.GetProperty("code").GetString());
        Assert.Contains("more than the 8 the request may generate", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offered_tools_with_automatic_choice_still_get_an_answer()
    {
        using var response = await served.Host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") }, tools = new[] { Tool }, tool_choice = "auto", max_tokens = 8 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(doc.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), new[] { "stop", "length", "tool_calls" });
    }
}
