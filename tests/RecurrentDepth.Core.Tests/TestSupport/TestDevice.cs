using RecurrentDepth.Devices;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.TestSupport;

/// <summary>
/// The device the parity and engine tests run on: <c>cpu</c> unless <c>RDSK_TEST_DEVICE</c> says otherwise (the GPU
/// check sets it to <c>cuda</c>). Tolerances stay the same: fp32 on CUDA runs with TF32 off (libtorch's default for
/// matmul), so the fixture atol of 1e-4 applies there too.
/// </summary>
internal static class TestDevice
{
    public const string Variable = "RDSK_TEST_DEVICE";

    /// <summary>The device name for options (<c>"cpu"</c>, <c>"cuda"</c>, <c>"cuda:1"</c>).</summary>
    public static string Name => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } name ? name : "cpu";

    /// <summary>The resolved device.</summary>
    public static Device Current => ComputeDevice.Resolve(Name);
}
