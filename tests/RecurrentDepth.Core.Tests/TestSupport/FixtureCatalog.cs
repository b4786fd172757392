using RecurrentDepth.Checkpoints;
using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.TestSupport;

/// <summary>
/// The reference fixture sets the parity tests run on: every folder under tests/fixtures (copied next to the test
/// assembly), plus each folder listed in RDSK_EXTRA_FIXTURES (separated by the platform path separator).
/// </summary>
public static class FixtureCatalog
{
    public const string ExtraFixturesVariable = "RDSK_EXTRA_FIXTURES";

    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures");

    public static string Tiny => Path.Combine(Root, "huginn-tiny");

    public static IReadOnlyList<string> AllFolders()
    {
        var folders = Directory.Exists(Root)
            ? Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "config.json"))).Order(StringComparer.Ordinal).ToList()
            : [];
        var extra = Environment.GetEnvironmentVariable(ExtraFixturesVariable);
        if (!string.IsNullOrWhiteSpace(extra))
        {
            // A listed folder that does not exist is kept, so that its test fails and says so.
            folders.AddRange(extra.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Path.GetFullPath));
        }

        return folders;
    }

    /// <summary>xunit member data: one row per fixture folder.</summary>
    public static TheoryData<string> Folders()
    {
        var data = new TheoryData<string>();
        foreach (var folder in AllFolders())
        {
            data.Add(folder);
        }

        return data;
    }

    /// <summary>
    /// The golden files of a folder with the weights each was produced from: golden_X.safetensors pairs with
    /// model_X.safetensors when that exists, else with model.safetensors.
    /// </summary>
    public static IReadOnlyList<(string Golden, string Weights)> GoldenSets(string folder)
    {
        Assert.True(Directory.Exists(folder), $"Fixture folder '{folder}' does not exist.");
        var sets = new List<(string, string)>();
        foreach (var golden in Directory.GetFiles(folder, "golden*.safetensors").Order(StringComparer.Ordinal))
        {
            var suffix = Path.GetFileNameWithoutExtension(golden)["golden".Length..];
            var weights = Path.Combine(folder, $"model{suffix}.safetensors");
            sets.Add((golden, File.Exists(weights) ? weights : Path.Combine(folder, "model.safetensors")));
        }

        return sets;
    }

    /// <summary>Builds the model of <paramref name="folder"/>'s config.json with weights from <paramref name="weightsFile"/>.</summary>
    public static RavenModel LoadModel(string folder, string? weightsFile = null, ScalarType dtype = ScalarType.Float32)
    {
        var config = RavenConfig.Load(Path.Combine(folder, "config.json"));
        using var checkpoint = SafetensorsCheckpoint.Open(weightsFile ?? folder);
        var model = new RavenModel(config, dtype, TestDevice.Current);
        ModelLoader.LoadWeights(model, checkpoint);
        return model;
    }
}
