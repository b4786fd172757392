using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using RecurrentDepth.Engine;
using RecurrentDepth.SemanticKernel;
using RecurrentDepth.Server.Hosting;

namespace RecurrentDepth.Server.Endpoints;

/// <summary><c>GET /v1/models</c>: the loaded model, with the depth range a request may ask for.</summary>
internal static class ModelsEndpoint
{
    public static ModelList List(IInferenceEngine engine, IOptions<RecurrentDepthOptions> chat, IOptions<ServerOptions> server, ServerClock clock)
    {
        var profiles = chat.Value.EffortProfiles;
        var efforts = new Dictionary<string, int>();
        foreach (var effort in Enum.GetValues<ThinkingEffort>())
        {
            efforts[ThinkingEffortNames.ToSettingValue(effort)] = profiles[effort].MaxSteps;
        }

        var depth = new DepthRange(1, server.Value.MaxRecurrenceSteps, chat.Value.DefaultEffort, efforts);
        return new ModelList([new ModelCard(engine.ModelId, clock.StartedAt.ToUnixTimeSeconds(), engine.State.ToString().ToLowerInvariant(), depth)]);
    }

    internal sealed record ModelList([property: JsonPropertyName("data")] IReadOnlyList<ModelCard> Data)
    {
        [JsonPropertyName("object")] public string Object => "list";
    }

    internal sealed record ModelCard(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("created")] long Created,
        [property: JsonPropertyName("state")] string State,
        [property: JsonPropertyName("recurrence")] DepthRange Recurrence)
    {
        [JsonPropertyName("object")] public string Object => "model";

        [JsonPropertyName("owned_by")] public string OwnedBy => "recurrent-depth";
    }

    /// <summary>Steps per token a request may set (<c>recurrence_steps</c>) and each effort's cap.</summary>
    internal sealed record DepthRange(
        [property: JsonPropertyName("min_steps")] int MinSteps,
        [property: JsonPropertyName("max_steps")] int MaxSteps,
        [property: JsonPropertyName("default_effort")] string DefaultEffort,
        [property: JsonPropertyName("effort_max_steps")] IReadOnlyDictionary<string, int> EffortMaxSteps);
}

/// <summary>When the server started (the <c>created</c> time of its model card).</summary>
internal sealed class ServerClock(TimeProvider time)
{
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();
}
