using System.Text.Json;

namespace RecurrentDepth.Training;

internal static class JsonDefaults
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
