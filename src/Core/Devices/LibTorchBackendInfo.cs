namespace RecurrentDepth.Devices;

/// <summary>Which libtorch this process runs on, as found when <see cref="LibTorchBackend.EnsureLoaded"/> loaded it.</summary>
public sealed record LibTorchBackendInfo
{
    /// <summary>The folder the libtorch libraries were loaded from.</summary>
    public required string Folder { get; init; }

    /// <summary>
    /// What chose that folder: <c>RDSK_LIBTORCH_DIR</c>, <c>runtimeconfig RecurrentDepth.LibTorchDir</c> (the MSBuild
    /// property <c>RecurrentDepthLibTorchDir</c>), or <c>bundled</c> (the libtorch NuGet package copied with the app).
    /// </summary>
    public required string ChosenBy { get; init; }

    /// <summary>The libtorch version found beside the libraries (PyTorch's version.py, libtorch's build-version, or the NuGet package), or null when none says.</summary>
    public string? Version { get; init; }

    /// <summary>The libtorch version TorchSharp 0.107 is built for: <see cref="LibTorchBackend.ExpectedVersion"/>.</summary>
    public string ExpectedVersion { get; init; } = LibTorchBackend.ExpectedVersion;

    /// <summary>True when <see cref="Version"/> has the expected major.minor; false when it differs; null when unknown.</summary>
    public bool? VersionMatches => Version is null ? null : LibTorchVersion.SameMinor(Version, ExpectedVersion);

    /// <summary>The TorchSharp native library that was bound to this libtorch.</summary>
    public required string LibTorchSharpPath { get; init; }

    /// <summary>One line for logs: folder, chooser, version found vs expected.</summary>
    public string Describe() =>
        $"libtorch {Version ?? "of unknown version"} from {Folder} (chosen by {ChosenBy}); TorchSharp 0.107 is built for libtorch {ExpectedVersion}" +
        (VersionMatches == false ? ": the versions differ, every symbol TorchSharp uses was found, but behaviour is not covered by TorchSharp's tests." : ".");

    /// <summary>Entries for health-check data.</summary>
    public IReadOnlyDictionary<string, object> ToHealthData() => new Dictionary<string, object>
    {
        ["libtorch_folder"] = Folder,
        ["libtorch_chosen_by"] = ChosenBy,
        ["libtorch_version"] = Version ?? "unknown",
        ["libtorch_expected_version"] = ExpectedVersion,
    };
}
