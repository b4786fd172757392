using Microsoft.Extensions.Diagnostics.HealthChecks;
using RecurrentDepth.Devices;
using RecurrentDepth.Engine;
using RecurrentDepth.Tests.TestSupport;

namespace RecurrentDepth.Tests.Devices;

/// <summary>The health check and the host's failure reason say which libtorch serves, or why none loaded.</summary>
public sealed class BackendHealthTests
{
    [Fact]
    public async Task The_health_check_reports_the_libtorch_folder_and_both_versions()
    {
        using var engine = InferenceEngine.Load(new EngineOptions { ModelPath = FixtureCatalog.Tiny, Device = TestDevice.Name, DType = "float32" });

        var health = await new ModelHealthCheck(engine).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(LibTorchBackend.Loaded!.Folder, health.Data["libtorch_folder"]);
        Assert.Equal("2.10.0", health.Data["libtorch_version"]);
        Assert.Equal(LibTorchBackend.ExpectedVersion, health.Data["libtorch_expected_version"]);
        Assert.Equal("bundled", health.Data["libtorch_chosen_by"]);
    }

    [Fact]
    public void A_torchsharp_type_initializer_failure_is_described_with_its_cause_not_its_type()
    {
        var failure = new TypeInitializationException("TorchSharp.torch", new DllNotFoundException("Unable to load shared library 'LibTorchSharp': libtorch_cuda.so: cannot open shared object file"));

        var reason = NativeLoadDiagnosis.Describe(failure);

        // This process's backend loaded, so the loader has nothing to add: the reason carries the inner cause.
        Assert.NotNull(reason);
        Assert.Contains("libtorch_cuda.so: cannot open shared object file", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("type initializer", reason, StringComparison.Ordinal);
    }
}
