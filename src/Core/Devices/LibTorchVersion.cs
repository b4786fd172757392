using System.Text.Json;
using System.Text.RegularExpressions;

namespace RecurrentDepth.Devices;

/// <summary>
/// Reads the version of a libtorch folder from the files that travel with it; the libraries themselves carry no
/// version string. PyTorch writes <c>torch/version.py</c> next to <c>torch/lib</c>, the libtorch zip writes
/// <c>libtorch/build-version</c> next to <c>libtorch/lib</c>, and a NuGet package has its <c>.nuspec</c> three levels up
/// from <c>runtimes/&lt;rid&gt;/native</c>.
/// </summary>
public static partial class LibTorchVersion
{
    /// <summary>The version found for <paramref name="folder"/>, or null when no file says.</summary>
    public static string? Find(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var parent = Directory.GetParent(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
        if (parent is null)
        {
            return null;
        }

        var versionPy = Path.Combine(parent.FullName, "version.py");
        if (File.Exists(versionPy) && PythonVersion().Match(File.ReadAllText(versionPy)) is { Success: true } py)
        {
            return py.Groups[1].Value;
        }

        var buildVersion = Path.Combine(parent.FullName, "build-version");
        if (File.Exists(buildVersion) && File.ReadLines(buildVersion).FirstOrDefault()?.Trim() is { Length: > 0 } built)
        {
            return built;
        }

        var packageRoot = parent.Parent?.Parent;
        if (packageRoot is not null && packageRoot.Exists)
        {
            foreach (var nuspec in packageRoot.EnumerateFiles("*.nuspec"))
            {
                if (NuspecVersion().Match(File.ReadAllText(nuspec.FullName)) is { Success: true } nu)
                {
                    return nu.Groups[1].Value;
                }
            }
        }

        return null;
    }

    /// <summary>The version of the libtorch package named in an app's <c>.deps.json</c> (the bundled libtorch), or null.</summary>
    public static string? FromDepsFile(string? depsJsonPath)
    {
        if (string.IsNullOrEmpty(depsJsonPath) || !File.Exists(depsJsonPath))
        {
            return null;
        }

        using var doc = JsonDocument.Parse(File.ReadAllBytes(depsJsonPath));
        if (!doc.RootElement.TryGetProperty("libraries", out var libraries))
        {
            return null;
        }

        foreach (var library in libraries.EnumerateObject())
        {
            // "libtorch-cpu-linux-x64/2.10.0", "libtorch-cuda-12.8-linux-x64-part1/2.10.0"
            var slash = library.Name.IndexOf('/', StringComparison.Ordinal);
            if (library.Name.StartsWith("libtorch-", StringComparison.OrdinalIgnoreCase) && slash > 0)
            {
                return library.Name[(slash + 1)..];
            }
        }

        return null;
    }

    /// <summary>Whether two versions agree in major and minor (<c>2.10.0+cu128</c> and <c>2.10.0.0</c> do).</summary>
    public static bool SameMinor(string found, string expected)
    {
        ArgumentNullException.ThrowIfNull(found);
        ArgumentNullException.ThrowIfNull(expected);
        static string MajorMinor(string v)
        {
            var parts = v.Split('+', '-')[0].Split('.');
            return parts.Length >= 2 ? $"{parts[0]}.{parts[1]}" : parts[0];
        }

        return MajorMinor(found.Trim()) == MajorMinor(expected.Trim());
    }

    [GeneratedRegex(@"^__version__\s*(?::\s*str\s*)?=\s*['""]([^'""]+)['""]", RegexOptions.Multiline)]
    private static partial Regex PythonVersion();

    [GeneratedRegex(@"<version>\s*([^<\s]+)\s*</version>")]
    private static partial Regex NuspecVersion();
}
