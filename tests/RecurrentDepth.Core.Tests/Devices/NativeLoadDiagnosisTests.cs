using RecurrentDepth.Devices;
using RecurrentDepth.Tests.TestSupport;
using TorchSharp;

namespace RecurrentDepth.Tests.Devices;

/// <summary>The loader's messages, as glibc writes them, turned into errors that name what is missing and the fix.</summary>
public sealed class NativeLoadDiagnosisTests
{
    [Fact]
    public void A_missing_glibcxx_version_is_named_with_the_newest_the_system_has_and_the_fix()
    {
        using var temp = new TempFolder();
        var libstdcxx = temp.File("libstdc++.so.6");
        File.WriteAllBytes(libstdcxx, "\0GLIBCXX_3.4.29\0GLIBCXX_3.4.30\0GLIBCXX_3.4.9\0"u8.ToArray());

        var ex = NativeLoadDiagnosis.Explain("/app/libLibTorchSharp.so",
            $"{libstdcxx}: version `GLIBCXX_3.4.32' not found (required by /app/libLibTorchSharp.so)", folder: null, versionFound: null);

        Assert.Equal("GLIBCXX_3.4.32", ex.Missing);
        Assert.Contains($"{libstdcxx} lacks symbol version GLIBCXX_3.4.32 (its newest is GLIBCXX_3.4.30)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("TorchSharpGlibcxxFix.targets", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_cuda_library_is_named_with_where_pytorch_keeps_it()
    {
        var ex = NativeLoadDiagnosis.Explain("/py/torch/lib/libtorch_cuda.so",
            "libcudnn.so.9: cannot open shared object file: No such file or directory", folder: "/py/torch/lib", versionFound: "2.10.0+cu128");

        Assert.Equal("libcudnn.so.9", ex.Missing);
        Assert.Equal("/py/torch/lib", ex.Folder);
        Assert.Contains("libcudnn.so.9 was not found (needed while loading libtorch_cuda.so)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("site-packages/nvidia/*/lib", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symbol_missing_from_another_libtorch_version_is_named_with_both_versions()
    {
        var ex = NativeLoadDiagnosis.Explain("/app/libLibTorchSharp.so",
            "/app/libLibTorchSharp.so: undefined symbol: _ZN2at4_ops10sdpa_flash4callEv", folder: "/py/torch/lib", versionFound: "2.4.1+cu121");

        Assert.Equal("_ZN2at4_ops10sdpa_flash4callEv", ex.Missing);
        Assert.Contains("libtorch 2.4.1+cu121; TorchSharp 0.107 is built for 2.10.0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("symbol _ZN2at4_ops10sdpa_flash4callEv that libLibTorchSharp.so calls is missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_type_initializer_failure_of_an_unrelated_type_is_not_called_a_native_load_failure()
    {
        var unrelated = new TypeInitializationException("Some.Other.Type", new InvalidOperationException("boom"));
        Assert.Null(NativeLoadDiagnosis.Describe(unrelated));
    }

    [Fact]
    public void This_process_runs_on_the_bundled_libtorch_of_the_version_torchsharp_is_built_for()
    {
        var backend = LibTorchBackend.EnsureLoaded();

        // torch.__version__ is TorchSharp's compiled-in libtorch version: the constant must agree with it.
        Assert.True(LibTorchVersion.SameMinor(torch.__version__, LibTorchBackend.ExpectedVersion), $"TorchSharp reports {torch.__version__}; ExpectedVersion is {LibTorchBackend.ExpectedVersion}.");
        Assert.Equal("bundled", backend.ChosenBy);
        Assert.Equal("2.10.0", backend.Version); // from this test's .deps.json (libtorch-cpu-linux-x64/2.10.0)
        Assert.True(backend.VersionMatches);
        Assert.Equal("2.10.0", backend.ToHealthData()["libtorch_version"]);
    }
}
