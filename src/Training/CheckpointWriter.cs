using RecurrentDepth.Modeling;

namespace RecurrentDepth.Training;

/// <summary>
/// Writes a model folder in the huginn Hugging Face layout: <c>config.json</c>, <c>model.safetensors</c>,
/// <c>tokenizer.json</c>, <c>tokenizer_config.json</c> (with the Jinja chat template) and <c>chat_template.json</c>
/// (the same template in the library's pieces format), so the normal loader runs it unchanged. The tokenizer files
/// are those the run's <see cref="TaskTokenizer"/> was loaded from, byte for byte.
/// </summary>
public static class CheckpointWriter
{
    /// <summary>Writes (or overwrites) the checkpoint files of <paramref name="model"/> into <paramref name="folder"/>.</summary>
    public static void Write(RavenModel model, TaskTokenizer tokenizer, string folder, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), model.Config.ToJson("float32") + "\n");
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
        {
            meta[k] = v;
        }

        model.SaveSafetensors(Path.Combine(folder, "model.safetensors"), meta);
        tokenizer.WriteFiles(folder);
    }
}
