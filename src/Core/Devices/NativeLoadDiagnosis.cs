using System.Text;
using System.Text.RegularExpressions;

namespace RecurrentDepth.Devices;

/// <summary>
/// Turns the dynamic loader's message into a sentence a user can act on: which library, symbol or symbol version
/// is missing, for which file, and the fix. The cases are the ones seen in practice: a libstdc++ older than the one
/// libLibTorchSharp was built with (Debian 12), a CUDA library of a PyTorch install that is not on the search path,
/// and a libtorch of another version that lacks a function TorchSharp calls.
/// </summary>
public static partial class NativeLoadDiagnosis
{
    /// <summary>Explains a failed load of <paramref name="library"/> from the loader's <paramref name="loaderError"/>.</summary>
    /// <param name="library">The file that was being loaded.</param>
    /// <param name="loaderError">dlerror()'s text.</param>
    /// <param name="folder">The configured libtorch folder, or null for the bundled one.</param>
    /// <param name="versionFound">The libtorch version found in that folder, if any.</param>
    public static LibTorchLoadException Explain(string library, string loaderError, string? folder, string? versionFound)
    {
        ArgumentException.ThrowIfNullOrEmpty(library);
        ArgumentNullException.ThrowIfNull(loaderError);
        var where = folder is null ? "the libtorch bundled with this app" : $"the libtorch folder '{folder}'";

        if (MissingVersion().Match(loaderError) is { Success: true } v)
        {
            string version = v.Groups["version"].Value, provider = v.Groups["provider"].Value, requiredBy = v.Groups["by"].Value;
            var newest = NewestVersionIn(provider, version[..(version.LastIndexOf('_') + 1)]);
            var fix = version.StartsWith("GLIBCXX_", StringComparison.Ordinal)
                ? "Build the app with RecurrentDepth.Core's targets (they mark libLibTorchSharp's GLIBCXX_3.4.32 need weak; see build/TorchSharpGlibcxxFix.targets), or install a libstdc++ from GCC 13 or newer."
                : "Run on a system whose C/C++ runtime is at least as new as the one the library was built on.";
            return new LibTorchLoadException(
                $"TorchSharp's native library could not be loaded: {provider} lacks symbol version {version}" +
                $"{(newest is null ? "" : $" (its newest is {newest})")}, which {requiredBy} requires. {fix}",
                version, folder);
        }

        if (MissingFile().Match(loaderError) is { Success: true } f)
        {
            var name = f.Groups["name"].Value;
            var fix = name.StartsWith("libcu", StringComparison.Ordinal) || name.StartsWith("libnv", StringComparison.Ordinal)
                ? "It is a CUDA library: for a pip PyTorch, install the matching nvidia-*-cu12 wheels (they put it under site-packages/nvidia/*/lib, which libtorch_cuda.so finds by its RPATH), or add its folder to LD_LIBRARY_PATH before the process starts."
                : name.StartsWith("libtorch", StringComparison.Ordinal) || name.StartsWith("libc10", StringComparison.Ordinal)
                    ? $"No libtorch was found: reference the libtorch-cpu-linux-x64 {LibTorchBackend.ExpectedVersion} package (or TorchSharp-cuda-linux), or set {LibTorchBackend.FolderVariable} to a folder that holds libtorch_cpu.so."
                    : "Install the package that provides it, or add its folder to LD_LIBRARY_PATH before the process starts.";
            return new LibTorchLoadException(
                $"TorchSharp's native library could not be loaded from {where}: {name} was not found (needed while loading {Path.GetFileName(library)}). {fix}",
                name, folder);
        }

        if (UndefinedSymbol().Match(loaderError) is { Success: true } s)
        {
            var symbol = s.Groups["symbol"].Value;
            return new LibTorchLoadException(
                $"TorchSharp's native library does not fit {where} (libtorch {versionFound ?? "of unknown version"}; TorchSharp 0.107 is built for {LibTorchBackend.ExpectedVersion}): " +
                $"symbol {symbol} that {Path.GetFileName(library)} calls is missing. Use a libtorch {LibTorchBackend.ExpectedVersion} (PyTorch {LibTorchBackend.ExpectedVersion}.x), or leave {LibTorchBackend.FolderVariable} unset to run on the bundled libtorch.",
                symbol, folder);
        }

        return new LibTorchLoadException(
            $"TorchSharp's native library could not be loaded from {where}: {Path.GetFileName(library)}: {loaderError}", null, folder);
    }

    /// <summary>
    /// The explanation of an exception thrown by TorchSharp's first call (a <see cref="TypeInitializationException"/>
    /// around <see cref="DllNotFoundException"/> or TorchSharp's own load trace), or null when it is not a native-load failure.
    /// </summary>
    public static string? Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is LibTorchLoadException load)
            {
                return load.Message;
            }
        }

        bool native = false;
        var messages = new StringBuilder();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            native |= e is DllNotFoundException or EntryPointNotFoundException
                || (e is TypeInitializationException t && t.TypeName.StartsWith("TorchSharp", StringComparison.Ordinal))
                || e.Message.Contains("LoadNativeBackend", StringComparison.Ordinal);
            messages.Append(e.Message).Append(' ');
        }

        if (!native)
        {
            return null;
        }

        // TorchSharp's own message names a package, not the cause; the loader knows the cause, so ask it again.
        try
        {
            LibTorchBackend.EnsureLoaded();
        }
        catch (LibTorchLoadException load)
        {
            return load.Message;
        }

        return $"TorchSharp's native backend failed to initialise: {messages.ToString().Trim()}";
    }

    /// <summary>The newest version with <paramref name="prefix"/> (e.g. <c>GLIBCXX_</c>) that <paramref name="library"/> defines, read from its bytes.</summary>
    internal static string? NewestVersionIn(string library, string prefix)
    {
        if (!File.Exists(library) || prefix.Length == 0)
        {
            return null;
        }

        var text = Encoding.Latin1.GetString(File.ReadAllBytes(library));
        Version? best = null;
        string? bestName = null;
        foreach (Match m in Regex.Matches(text, Regex.Escape(prefix) + @"(\d+(?:\.\d+)+)"))
        {
            if (Version.TryParse(m.Groups[1].Value, out var parsed) && (best is null || parsed > best))
            {
                best = parsed;
                bestName = m.Value;
            }
        }

        return bestName;
    }

    // "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/libLibTorchSharp.so)"
    [GeneratedRegex(@"(?<provider>[^\s:]+): version [`'](?<version>[A-Za-z_]+[\d.]+)' not found \(required by (?<by>[^)]+)\)")]
    private static partial Regex MissingVersion();

    // "libcudnn.so.9: cannot open shared object file: No such file or directory"
    [GeneratedRegex(@"(?<name>[^\s:/]+\.so[.\d]*): cannot open shared object file")]
    private static partial Regex MissingFile();

    // "/app/libLibTorchSharp.so: undefined symbol: _ZN2at4_ops..."
    [GeneratedRegex(@"undefined symbol: (?<symbol>\S+)")]
    private static partial Regex UndefinedSymbol();
}
