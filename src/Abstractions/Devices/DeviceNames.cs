namespace RecurrentDepth.Devices;

/// <summary>The accepted forms of the device and dtype settings, checked without loading any native library.</summary>
public static class DeviceNames
{
    /// <summary>Whether <paramref name="spec"/> has a valid device form ("auto", "cpu", "cuda", "cuda:N"); availability is not checked.</summary>
    public static bool IsValidSpec(string? spec)
    {
        var text = string.IsNullOrWhiteSpace(spec) ? "auto" : spec.Trim().ToLowerInvariant();
        return text is "auto" or "cpu" or "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(5), out int n) && n >= 0;
    }

    /// <summary>Whether <paramref name="name"/> is an accepted dtype name ("auto", "float32", "bfloat16", "float16" and their short forms).</summary>
    public static bool IsValidDType(string? name) =>
        (string.IsNullOrWhiteSpace(name) ? "auto" : name.Trim().ToLowerInvariant()) is "auto" or "float32" or "fp32" or "f32" or "bfloat16" or "bf16" or "float16" or "fp16" or "f16" or "half";
}
