using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RecurrentDepth.Server.Wire;

/// <summary>JSON settings of the wire format: property names are explicit (snake_case), nulls are written.</summary>
internal static class ServerJson
{
    /// <summary>Reading requests: numbers must be numbers; comments and trailing commas are tolerated.</summary>
    public static JsonSerializerOptions Read { get; } = new(JsonSerializerDefaults.General)
    {
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Writing responses compactly (one SSE event per line).</summary>
    public static JsonSerializerOptions Write { get; } = new(JsonSerializerDefaults.General)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = false,
        // Messages quote field names ('temperature'); keep them readable rather than \u0027-escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>"$.messages[0].content" → "messages[0].content"; "$" or null → null.</summary>
    public static string? FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
