using System.Net;
using System.Text;
using System.Text.Json;

namespace RecurrentDepth.Server.Tests;

/// <summary>Every error the shared server can give: status code and the OpenAI-shaped body naming the field.</summary>
[Collection(ServedCollection.Name)]
public sealed class ErrorTests(ServedModel served)
{
    private const string Invalid = "invalid_request_error";

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { """{"messages":[{"role":"user","content":"1+3="}],"temperature":"hot"}""", "temperature", "invalid_type" },
        { """{"messages":[{"role":"user","content":"1+3="}],"temperature":-1}""", "temperature", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"n":2}""", "n", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"reasoning_effort":"huge"}""", "reasoning_effort", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"reasoning":{"effort":"huge"}}""", "reasoning_effort", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"thinking_effort":"huge"}""", "thinking_effort", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"exit_criterion":"vibes"}""", "exit_criterion", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"max_tokens":5000}""", "max_tokens", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"max_completion_tokens":0}""", "max_completion_tokens", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"recurrence_steps":65}""", "recurrence_steps", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"recurrence_steps":0}""", "recurrence_steps", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"stop":[1]}""", "stop", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"response_format":{"type":"yaml"}}""", "response_format.type", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}],"tools":[{"type":"function","function":{}}]}""", "tools[0]", "invalid_value" },
        { """{"messages":[]}""", "messages", "missing_required_parameter" },
        { """{"model":"huginn-micro-arith"}""", "messages", "missing_required_parameter" },
        { """{"messages":[{"role":"robot","content":"1+3="}]}""", "messages[0].role", "invalid_value" },
        { """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0]", "invalid_value" },
        { """{"messages":[{"role":"user","content":"1+3="}""", "body", "invalid_json" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_request_is_400_naming_the_field(string body, string param, string code)
    {
        using var response = await served.Host.Http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        await Wire.ErrorOf(response, HttpStatusCode.BadRequest, Invalid, param, code);
    }

    [Fact]
    public async Task Too_many_messages_is_400_naming_messages()
    {
        var messages = Enumerable.Range(0, 257).Select(_ => Wire.User("1+3=")).ToArray();
        using var response = await served.Host.PostChatAsync(new { messages });
        await Wire.ErrorOf(response, HttpStatusCode.BadRequest, Invalid, "messages", "too_many_messages");
    }

    [Fact]
    public async Task Unknown_model_is_404_naming_model()
    {
        using var response = await served.Host.PostChatAsync(new { model = "gpt-5", messages = new[] { Wire.User("1+3=") } });
        await Wire.ErrorOf(response, HttpStatusCode.NotFound, Invalid, "model", "model_not_found");
    }

    [Fact]
    public async Task Unknown_route_is_an_OpenAI_shaped_404()
    {
        using var response = await served.Host.Http.GetAsync("/v1/embeddings");
        await Wire.ErrorOf(response, HttpStatusCode.NotFound, "not_found_error", null, "not_found");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Body_over_the_limit_is_413_with_or_without_content_length(bool withLength)
    {
        string json = JsonSerializer.Serialize(new { messages = new[] { Wire.User(new string('1', 1024 * 1024 + 1)) } });
        HttpContent content = withLength
            ? new StringContent(json, Encoding.UTF8, "application/json")
            : new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        if (!withLength)
        {
            content.Headers.ContentType = new("application/json");
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        if (!withLength)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        using var response = await served.Host.Http.SendAsync(request);
        await Wire.ErrorOf(response, HttpStatusCode.RequestEntityTooLarge, Invalid, "body", "request_too_large");
    }

    [Fact]
    public async Task A_bad_request_leaves_the_next_one_unharmed()
    {
        using var bad = await served.Host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") }, recurrence_steps = -3 });
        using var good = await served.Host.PostChatAsync(new { messages = new[] { Wire.User("1+3=") }, reasoning_effort = "none" });

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal(4, Wire.LatentCompute(await good.Content.ReadAsStringAsync()).GetProperty("max_recurrence_steps").GetInt32());
    }
}
