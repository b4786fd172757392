using System.Diagnostics;
using System.Text.Json.Nodes;
using RecurrentDepth.Devices;
using RecurrentDepth.Tests.Parity;
using RecurrentDepth.Tests.TestSupport;

namespace RecurrentDepth.Tests.Devices;

/// <summary>
/// Running on a libtorch folder (<c>RDSK_LIBTORCH_DIR</c>). Native libraries load once per process, so each case runs
/// this test assembly as a child process (its own entry point, Runner/TestConsole.cs) from a copy of the test output
/// without the bundled libtorch, the way an app built with <c>-p:RecurrentDepthBundleLibTorch=false</c> looks.
/// </summary>
public sealed class LibTorchFolderTests(LibTorchFolderTests.Layout layout) : IClassFixture<LibTorchFolderTests.Layout>
{
    [Fact]
    public void The_nuget_libtorch_copied_to_another_folder_gives_the_same_parity_results()
    {
        var json = Path.Combine(layout.Root, "parity.json");
        var run = Child(layout.StrippedApp, layout.LibTorchCopy, "--run", "--class", typeof(ForwardParityTests).FullName!, "--json", json);
        Assert.True(run.ExitCode == 0, $"Child exited {run.ExitCode}:\n{run.Output}");

        var result = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal(layout.LibTorchCopy, (string?)result["libtorch"]!["Folder"]);
        Assert.Equal(LibTorchBackend.FolderVariable, (string?)result["libtorch"]!["ChosenBy"]);
        Assert.Equal("2.10.0", (string?)result["libtorch"]!["Version"]);
        Assert.Equal(0, (int)result["failed"]!);
        Assert.True((int)result["passed"]! > 0, "The child ran no parity test.");

        // The same binaries in another folder must give bit-identical errors, not merely errors within atol.
        var here = string.Join('\n', ForwardParityTests.CheckFolder(FixtureCatalog.Tiny).Select(r => $"{r.Name}: max abs error {r.Error:G3}"));
        var childOutputs = result["tests"]!.AsArray()
            .Where(t => ((string?)t!["Name"])!.Contains("Forward_pass_matches_every_reference_tensor", StringComparison.Ordinal))
            .Select(t => string.Join('\n', ((string?)t!["Output"] ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            .ToList();
        Assert.Contains(here, childOutputs);
    }

    [Fact]
    public void A_folder_without_libtorch_is_refused_naming_the_missing_library()
    {
        var empty = Directory.CreateDirectory(Path.Combine(layout.Root, "no-libtorch")).FullName;
        var run = Child(layout.StrippedApp, empty, "--libtorch-probe");

        Assert.True(run.ExitCode == 3, $"Child exited {run.ExitCode}, expected 3 (not loaded):\n{run.Output}");
        Assert.Contains($"{LibTorchBackend.FolderVariable} points at '{empty}', which has no libtorch", run.Output, StringComparison.Ordinal);
        Assert.Contains("libtorch_cpu.so", run.Output, StringComparison.Ordinal);
        Assert.Contains("missing: libc10.so", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("TypeInitializationException", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_beside_the_bundled_libtorch_is_refused_before_two_copies_load()
    {
        // The unmodified test output carries the NuGet libtorch; pointing it at another copy must not load both.
        var run = Child(AppContext.BaseDirectory, layout.LibTorchCopy, "--libtorch-probe");

        Assert.True(run.ExitCode == 3, $"Child exited {run.ExitCode}, expected 3 (not loaded):\n{run.Output}");
        Assert.Contains("two libtorch copies in one process abort", run.Output, StringComparison.Ordinal);
        Assert.Contains("RecurrentDepthBundleLibTorch=false", run.Output, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Output) Child(string appFolder, string libTorchFolder, params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(appFolder, "RecurrentDepth.Core.Tests.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[LibTorchBackend.FolderVariable] = libTorchFolder;
        start.Environment["DOTNET_GCgen0size"] = "0x20000000"; // as test.runsettings (TorchSharp Scalar hazard)
        start.Environment.Remove(TestDevice.Variable);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>The copies the cases share: the test output without libtorch, and the NuGet libtorch in its own folder.</summary>
    public sealed class Layout : IDisposable
    {
        private static readonly string[] LibTorchFiles = ["libc10.so", "libtorch.so", "libtorch_cpu.so", "libtorch_global_deps.so", "libshm.so", "libgomp-98b21ff3.so.1"];
        private readonly TempFolder _temp = new();

        public Layout()
        {
            Root = _temp.Path;
            var bundledNative = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
            StrippedApp = Path.Combine(Root, "app");
            CopyTree(AppContext.BaseDirectory, StrippedApp, file => !(Path.GetDirectoryName(file) == bundledNative && Path.GetFileName(file) != "libLibTorchSharp.so"));
            LeaveLibTorchOutOfDeps(Path.Combine(StrippedApp, "RecurrentDepth.Core.Tests.deps.json"));

            // A NuGet package's layout: libraries under runtimes/linux-x64/native, the nuspec (with the version) at the top.
            var package = Directory.CreateDirectory(Path.Combine(Root, "libtorch-cpu-linux-x64"));
            LibTorchCopy = Directory.CreateDirectory(Path.Combine(package.FullName, "runtimes", "linux-x64", "native")).FullName;
            foreach (var name in LibTorchFiles)
            {
                File.Copy(Path.Combine(bundledNative, name), Path.Combine(LibTorchCopy, name));
            }

            File.WriteAllText(Path.Combine(package.FullName, "libtorch-cpu-linux-x64.nuspec"), "<package><metadata><id>libtorch-cpu-linux-x64</id><version>2.10.0</version></metadata></package>");
        }

        public string Root { get; }

        public string StrippedApp { get; }

        public string LibTorchCopy { get; }

        public void Dispose() => _temp.Dispose();

        private static void CopyTree(string from, string to, Func<string, bool> include)
        {
            foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                if (!include(file))
                {
                    continue;
                }

                var target = Path.Combine(to, Path.GetRelativePath(from, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        private static void LeaveLibTorchOutOfDeps(string depsFile)
        {
            // What RecurrentDepthBundleLibTorch=false does at build time: no libtorch native asset is listed.
            var deps = JsonNode.Parse(File.ReadAllText(depsFile))!;
            foreach (var (_, target) in deps["targets"]!.AsObject())
            {
                foreach (var (library, assets) in target!.AsObject())
                {
                    if (library.StartsWith("libtorch-", StringComparison.Ordinal))
                    {
                        assets!.AsObject().Remove("native");
                    }
                }
            }

            File.WriteAllText(depsFile, deps.ToJsonString());
        }
    }
}
