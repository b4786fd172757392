using System.ClientModel.Primitives;
using System.Net;
using System.Text.Json;

namespace RecurrentDepth.Server.Tests;

/// <summary>One server shared by the tests of the <see cref="ServedCollection"/> (they run one after another).</summary>
public sealed class ServedModel : IAsyncLifetime
{
    public ServerHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await ServerHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ServedCollection : ICollectionFixture<ServedModel>
{
    public const string Name = "served micro model";
}

/// <summary>Reading the wire format the way a client that knows this server would.</summary>
internal static class Wire
{
    /// <summary>The <c>usage.latent_compute</c> object of a chat.completion (or usage chunk) JSON.</summary>
    public static JsonElement LatentCompute(string completionJson)
    {
        using var doc = JsonDocument.Parse(completionJson);
        return doc.RootElement.GetProperty("usage").GetProperty("latent_compute").Clone();
    }

    /// <summary>The JSON an OpenAI SDK model object was parsed from, with the fields the SDK does not know kept.</summary>
    public static string JsonOf<T>(T model) where T : IPersistableModel<T> => ModelReaderWriter.Write(model).ToString();

    public static async Task<JsonElement> ErrorOf(HttpResponseMessage response, HttpStatusCode status, string type, string? param, string code)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        var error = doc.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), body);
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        if (param is null)
        {
            Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        }
        else
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        return error.Clone();
    }

    public static object User(string text) => new { role = "user", content = text };
}
