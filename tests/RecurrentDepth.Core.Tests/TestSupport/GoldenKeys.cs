using System.Globalization;
using System.Text.RegularExpressions;
using RecurrentDepth.Checkpoints;

namespace RecurrentDepth.Tests.TestSupport;

/// <summary>
/// What the parity tests know of a golden file: its forward tensors (<c>fwd.*</c>), its generation runs (a
/// <c>*.sequences</c> tensor of a known family) and the settings in its <c>__metadata__</c>. Used to skip what a
/// folder does not hold and to fail a folder that holds nothing any parity test knows.
/// </summary>
public static partial class GoldenKeys
{
    /// <summary>Recurrence steps of <c>gen.*</c> runs (metadata <c>gen_num_steps</c>); the fixture README's 8 otherwise.</summary>
    public const string GenSteps = "gen_num_steps";

    /// <summary>Recurrence steps of <c>gen16.*</c> runs (metadata <c>gen16_num_steps</c>); 16 otherwise.</summary>
    public const string Gen16Steps = "gen16_num_steps";

    /// <summary>Step cap of <c>adaptive.*</c> runs (metadata <c>adaptive_max_steps</c>); 32 otherwise.</summary>
    public const string AdaptiveMaxSteps = "adaptive_max_steps";

    /// <summary>Tokens each run generated (metadata <c>max_new_tokens</c>); the sequences' width less the prompt's otherwise.</summary>
    public const string MaxNewTokens = "max_new_tokens";

    [GeneratedRegex(@"^(?<family>gen\.minimal|gen\.continuous|gen16\.(?<g16>[^.]+)|adaptive\.(?<crit>[^.]+)|cache\.(?<strategy>[^.]+))\.sequences$")]
    public static partial Regex GenerationRun();

    /// <summary>Whether <paramref name="key"/> is a forward tensor (checked, or an input of the check).</summary>
    public static bool IsForward(string key) => key.StartsWith("fwd.", StringComparison.Ordinal);

    /// <summary>The generation runs a golden file holds.</summary>
    public static IReadOnlyList<Match> GenerationRuns(SafetensorsFile golden) =>
        golden.Tensors.Keys.Select(k => GenerationRun().Match(k)).Where(m => m.Success).ToList();

    /// <summary>Whether any golden file of <paramref name="folder"/> holds a tensor some parity test checks.</summary>
    public static bool FolderHoldsAnythingKnown(string folder) =>
        FixtureCatalog.GoldenSets(folder).Any(set =>
        {
            using var golden = SafetensorsFile.Open(set.Golden);
            return golden.Tensors.Keys.Any(k => IsForward(k) || GenerationRun().IsMatch(k));
        });

    /// <summary>
    /// An integer setting of the file's <c>__metadata__</c>, or <paramref name="fallback"/> when it is absent. A value
    /// that is present but not a positive integer fails the test (the file says something the test cannot read).
    /// </summary>
    public static int Setting(SafetensorsFile golden, string name, int fallback)
    {
        if (!golden.Metadata.TryGetValue(name, out var text))
        {
            return fallback;
        }

        Assert.True(int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value > 0,
            $"{Path.GetFileName(golden.Path)}: __metadata__ {name} is '{text}'; expected a positive integer.");
        return value;
    }
}
