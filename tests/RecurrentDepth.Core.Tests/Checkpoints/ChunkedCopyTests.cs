using RecurrentDepth.Checkpoints;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Checkpoints;

/// <summary>
/// <see cref="SafetensorsFile.CopyInto(string, Tensor)"/>, the low-memory load path: chunked reads must give exactly
/// the tensor the mapped read gives, converted the way <c>Tensor.to</c> converts, across chunk boundaries.
/// </summary>
public sealed class ChunkedCopyTests
{
    [Theory]
    [InlineData(1L << 20, ScalarType.BFloat16)] // one chunk
    [InlineData(7 * 4 * 12, ScalarType.BFloat16)] // 7 rows per chunk: 37 rows = 5 full chunks and a short one
    [InlineData(1, ScalarType.Float32)] // clamped to one row per chunk
    public void Chunked_copy_equals_the_mapped_read_converted(long chunkBytes, ScalarType into)
    {
        using var temp = new TempFolder();
        var path = temp.File("w.safetensors");
        using var generator = new Generator(11, CPU);
        using var weight = randn([37, 12], generator: generator);
        using var norm = randn([12], generator: generator);
        SafetensorsWriter.Write(path, [new("w", weight), new("n", norm)]);

        using var file = SafetensorsFile.Open(path);
        using var copiedWeight = zeros([37, 12], into);
        using var copiedNorm = zeros([12], into);
        file.CopyInto("w", copiedWeight, chunkBytes);
        file.CopyInto("n", copiedNorm, chunkBytes);

        using var expectedWeight = file.Read("w").to(into);
        using var expectedNorm = file.Read("n").to(into);
        Assert.True(TensorAssert.Identical(expectedWeight, copiedWeight), "The chunked copy of 'w' differs from the mapped read.");
        Assert.True(TensorAssert.Identical(expectedNorm, copiedNorm), "The chunked copy of 'n' differs from the mapped read.");
    }

    [Fact]
    public void A_destination_of_another_shape_is_refused_naming_both_shapes()
    {
        using var temp = new TempFolder();
        var path = temp.File("w.safetensors");
        using var weight = ones([4, 3]);
        SafetensorsWriter.Write(path, [new("w", weight)]);
        using var file = SafetensorsFile.Open(path);
        using var wrong = zeros([3, 4]);

        var ex = Assert.Throws<ArgumentException>(() => file.CopyInto("w", wrong));
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 3]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 4]", ex.Message, StringComparison.Ordinal);
    }
}
