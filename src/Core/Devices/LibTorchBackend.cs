using TorchSharp;

namespace RecurrentDepth.Devices;

/// <summary>
/// Loads TorchSharp's native backend before its first call, from the libtorch the user chose, and explains any
/// failure. The libtorch folder comes from the <c>RDSK_LIBTORCH_DIR</c> environment variable, else from the
/// runtimeconfig switch <c>RecurrentDepth.LibTorchDir</c> (MSBuild property <c>RecurrentDepthLibTorchDir</c>), else it
/// is the libtorch NuGet package copied with the app.
/// </summary>
/// <remarks>
/// Native libraries are loaded once per process and cannot be unloaded, so this is the one piece of process-wide
/// state in Core: the first call decides, and later calls return the same result (or throw the same error).
/// Two libtorch copies in one process register every operator twice and abort, so a configured folder is refused
/// while the app also carries the NuGet libtorch, or while another libtorch is already mapped.
/// </remarks>
public static class LibTorchBackend
{
    /// <summary>Environment variable naming the libtorch folder (for example <c>.../site-packages/torch/lib</c>).</summary>
    public const string FolderVariable = "RDSK_LIBTORCH_DIR";

    /// <summary>runtimeconfig.json switch written by the MSBuild property <c>RecurrentDepthLibTorchDir</c>.</summary>
    public const string FolderSwitch = "RecurrentDepth.LibTorchDir";

    /// <summary>The libtorch version TorchSharp 0.107 is built against (its <c>torch.__version__</c>).</summary>
    public const string ExpectedVersion = "2.10.0";

    private static readonly Lock Gate = new();
    private static LibTorchBackendInfo? _loaded;
    private static LibTorchLoadException? _failure;

    /// <summary>What was loaded, once <see cref="EnsureLoaded"/> succeeded; null before or after a failure.</summary>
    public static LibTorchBackendInfo? Loaded => _loaded;

    /// <summary>The load failure, once <see cref="EnsureLoaded"/> failed; null otherwise.</summary>
    public static LibTorchLoadException? Failure => _failure;

    /// <summary>
    /// Loads the native backend (once per process) and initialises TorchSharp's CPU device type. Call it before any
    /// other TorchSharp call; the model loader and device resolution do.
    /// </summary>
    /// <exception cref="LibTorchLoadException">The backend cannot be loaded; the message names what is missing.</exception>
    public static LibTorchBackendInfo EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded is not null)
            {
                return _loaded;
            }

            if (_failure is not null)
            {
                throw _failure;
            }

            try
            {
                _loaded = Load();
                return _loaded;
            }
            catch (LibTorchLoadException ex)
            {
                _failure = ex;
                throw;
            }
        }
    }

    /// <summary>The configured folder and what configured it, or null when the bundled libtorch is to be used.</summary>
    public static (string Folder, string ChosenBy)? ConfiguredFolder()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(FolderVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return (Path.GetFullPath(fromEnvironment.Trim()), FolderVariable);
        }

        return AppContext.GetData(FolderSwitch) is string fromConfig && !string.IsNullOrWhiteSpace(fromConfig)
            ? (Path.GetFullPath(fromConfig.Trim()), $"runtimeconfig {FolderSwitch}")
            : null;
    }

    private static LibTorchBackendInfo Load()
    {
        var configured = ConfiguredFolder();
        if (!OperatingSystem.IsLinux())
        {
            if (configured is not null)
            {
                throw new LibTorchLoadException(
                    $"{configured.Value.ChosenBy} is set to '{configured.Value.Folder}', but a libtorch folder is supported on Linux only; unset it to use the bundled libtorch.",
                    null, configured.Value.Folder);
            }

            InitialiseTorchSharp(null, null);
            return new LibTorchBackendInfo { Folder = AppContext.BaseDirectory, ChosenBy = "bundled", LibTorchSharpPath = "LibTorchSharp", Version = BundledVersion() };
        }

        var nativeFolders = NativeSearchFolders();
        var libTorchSharp = nativeFolders.Select(d => Path.Combine(d, "libLibTorchSharp.so")).FirstOrDefault(File.Exists)
            ?? throw new LibTorchLoadException(
                $"libLibTorchSharp.so (TorchSharp's native library) is not in this app's folders ({string.Join(", ", nativeFolders)}); the TorchSharp package's runtimes/linux-x64 assets were not copied.",
                "libLibTorchSharp.so", configured?.Folder);
        var bundled = nativeFolders.FirstOrDefault(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")));

        string folder, chosenBy;
        string? version;
        if (configured is { } chosen)
        {
            (folder, chosenBy) = chosen;
            CheckFolder(folder, chosenBy);
            version = LibTorchVersion.Find(folder);
            if (bundled is not null && !SameFolder(bundled, folder))
            {
                throw new LibTorchLoadException(
                    $"{chosenBy} points at '{folder}', but this app also carries a libtorch in '{bundled}'; two libtorch copies in one process abort. " +
                    "Build the app with -p:RecurrentDepthBundleLibTorch=false (or remove the libtorch files from that folder), or unset the option.",
                    "libtorch_cpu.so", folder);
            }

            RefuseOtherMappedLibTorch(folder);
            // libc10 and libtorch_cpu first: libLibTorchSharp's needs for libtorch*.so are then met by name, whatever its RUNPATH says.
            foreach (var name in new[] { "libc10.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so" })
            {
                var path = Path.Combine(folder, name);
                if (File.Exists(path) && PosixDynamicLoader.Open(path, bindAllSymbols: false, out var error) == IntPtr.Zero)
                {
                    throw NativeLoadDiagnosis.Explain(path, error!, folder, version);
                }
            }
        }
        else
        {
            if (bundled is null)
            {
                throw new LibTorchLoadException(
                    $"No libtorch was found: this app has TorchSharp but no libtorch package (folders searched: {string.Join(", ", nativeFolders)}). " +
                    $"Reference libtorch-cpu-linux-x64 {ExpectedVersion} (or TorchSharp-cuda-linux), or set {FolderVariable} to a folder that holds libtorch_cpu.so.",
                    "libtorch_cpu.so", null);
            }

            (folder, chosenBy, version) = (bundled, "bundled", BundledVersion());
            RefuseOtherMappedLibTorch(folder);
        }

        // Binding every symbol now turns "this libtorch lacks a function" into an error naming it, not a crash later.
        if (PosixDynamicLoader.Open(libTorchSharp, bindAllSymbols: true, out var sharpError) == IntPtr.Zero)
        {
            throw NativeLoadDiagnosis.Explain(libTorchSharp, sharpError!, configured?.Folder, version);
        }

        InitialiseTorchSharp(configured?.Folder, version);
        return new LibTorchBackendInfo { Folder = folder, ChosenBy = chosenBy, Version = version, LibTorchSharpPath = libTorchSharp };
    }

    private static void CheckFolder(string folder, string chosenBy)
    {
        if (!Directory.Exists(folder))
        {
            throw new LibTorchLoadException($"{chosenBy} points at '{folder}', which does not exist; expected the folder that holds libtorch_cpu.so (for a PyTorch install: <site-packages>/torch/lib).", folder, folder);
        }

        var missing = new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" }.Where(n => !File.Exists(Path.Combine(folder, n))).ToList();
        if (missing.Count > 0)
        {
            throw new LibTorchLoadException(
                $"{chosenBy} points at '{folder}', which has no libtorch: {string.Join(", ", missing)} not found. Expected the folder that holds libtorch_cpu.so " +
                "(for a PyTorch install: python -c \"import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\"; for the libtorch zip: libtorch/lib).",
                missing[0], folder);
        }
    }

    private static void RefuseOtherMappedLibTorch(string folder)
    {
        // TorchSharp already initialised (or a Python torch in the same process) from another folder: too late to choose.
        foreach (var mapped in MappedLibraries("libtorch_cpu.so"))
        {
            if (!SameFolder(Path.GetDirectoryName(mapped)!, folder))
            {
                throw new LibTorchLoadException(
                    $"A libtorch is already loaded in this process from '{mapped}', so the libtorch in '{folder}' cannot be loaded beside it (two copies abort). " +
                    $"Call {nameof(LibTorchBackend)}.{nameof(EnsureLoaded)}() before any other TorchSharp call.",
                    "libtorch_cpu.so", folder);
            }
        }
    }

    private static void InitialiseTorchSharp(string? folder, string? version)
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or NotSupportedException)
        {
            var inner = ex;
            while (inner.InnerException is not null)
            {
                inner = inner.InnerException;
            }

            var symbol = ex is EntryPointNotFoundException || inner is EntryPointNotFoundException ? inner.Message : null;
            throw new LibTorchLoadException(
                $"TorchSharp failed to initialise on {(folder is null ? "the bundled libtorch" : $"the libtorch in '{folder}'")} (version {version ?? "unknown"}; TorchSharp 0.107 is built for {ExpectedVersion}): {inner.Message}",
                symbol, folder, ex);
        }
    }

    private static List<string> NativeSearchFolders()
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searched)
        {
            folders.AddRange(searched.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        folders.Add(AppContext.BaseDirectory);
        folders.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"));
        return folders.Select(f => Path.GetFullPath(f).TrimEnd(Path.DirectorySeparatorChar)).Where(Directory.Exists).Distinct().ToList();
    }

    private static string? BundledVersion()
    {
        // The app's .deps.json names the libtorch package and version; under a test host the host's own comes first.
        var depsFiles = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.deps.json"));
        return depsFiles.Select(LibTorchVersion.FromDepsFile).FirstOrDefault(v => v is not null);
    }

    private static IEnumerable<string> MappedLibraries(string fileName)
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return [];
        }

        return File.ReadLines(maps)
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var at and >= 0 ? line[at..] : null)
            .Where(path => path is not null && Path.GetFileName(path) == fileName)
            .Select(path => path!)
            .Distinct()
            .ToList();
    }

    private static bool SameFolder(string a, string b)
    {
        static string Real(string p)
        {
            var full = Path.GetFullPath(p).TrimEnd(Path.DirectorySeparatorChar);
            return new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }

        return string.Equals(Real(a), Real(b), StringComparison.Ordinal);
    }
}
