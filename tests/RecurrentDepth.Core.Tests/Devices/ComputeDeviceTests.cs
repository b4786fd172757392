using RecurrentDepth.Devices;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Devices;

/// <summary>Device and dtype settings: accepted spellings, and errors that name what was asked for.</summary>
public sealed class ComputeDeviceTests
{
    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:0")]
    [InlineData(" CUDA ")]
    public void Cuda_on_a_build_without_cuda_is_refused_naming_the_device(string spec)
    {
        if (cuda.is_available())
        {
            // A CUDA build on a GPU machine (-p:TorchDevice=cuda): the same spelling must resolve instead.
            Assert.Equal(DeviceType.CUDA, ComputeDevice.Resolve(spec).type);
            return;
        }

        var ex = Assert.Throws<ArgumentException>(() => ComputeDevice.Resolve(spec));
        Assert.Equal("spec", ex.ParamName);
        Assert.Contains($"'{spec}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("TorchDevice=cuda", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:")]
    [InlineData("cpu:0")]
    [InlineData("mps")]
    public void Unknown_device_strings_are_refused_naming_them(string spec)
    {
        var ex = Assert.Throws<ArgumentException>(() => ComputeDevice.Resolve(spec));
        Assert.Contains($"'{spec}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"cpu\"", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("cpu")]
    [InlineData("CPU")]
    public void Auto_and_cpu_resolve_to_the_cpu_on_this_build(string? spec)
    {
        if (cuda.is_available() && spec is not ("cpu" or "CPU"))
        {
            return; // auto picks the GPU on a CUDA machine
        }

        Assert.Equal(DeviceType.CPU, ComputeDevice.Resolve(spec).type);
    }

    [Theory]
    [InlineData("float32", ScalarType.Float32)]
    [InlineData("fp32", ScalarType.Float32)]
    [InlineData("bfloat16", ScalarType.BFloat16)]
    [InlineData("BF16", ScalarType.BFloat16)]
    [InlineData("float16", ScalarType.Float16)]
    [InlineData("fp16", ScalarType.Float16)]
    [InlineData("half", ScalarType.Float16)]
    public void Dtype_names_resolve(string name, ScalarType expected) =>
        Assert.Equal(expected, ComputeDevice.ResolveDType(name, CPU));

    [Fact]
    public void Auto_dtype_is_fp32_on_cpu_and_bf16_on_cuda()
    {
        Assert.Equal(ScalarType.Float32, ComputeDevice.ResolveDType("auto", CPU));
        Assert.Equal(ScalarType.Float32, ComputeDevice.ResolveDType(null, CPU));
        Assert.Equal(ScalarType.BFloat16, ComputeDevice.ResolveDType("auto", new Device(DeviceType.CUDA, 0)));
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("float64")]
    [InlineData("fp8")]
    public void Unknown_dtype_names_are_refused_naming_them(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => ComputeDevice.ResolveDType(name, CPU));
        Assert.Equal("name", ex.ParamName);
        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
    }
}
