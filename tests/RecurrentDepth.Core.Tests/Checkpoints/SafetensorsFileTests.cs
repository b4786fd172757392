using RecurrentDepth.Checkpoints;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Checkpoints;

/// <summary>Malformed safetensors files are refused when opened, with a message naming the file and the tensor.</summary>
public sealed class SafetensorsFileTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private InvalidDataException OpenFails(string path)
    {
        var ex = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Fact]
    public void A_file_shorter_than_the_length_prefix_is_refused_as_truncated()
    {
        var path = _temp.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        var ex = OpenFails(path);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("5 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_length_past_the_end_of_the_file_is_refused()
    {
        var path = _temp.File("long-header.safetensors");
        TestCheckpoints.WriteRaw(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Floats(1f), declaredHeaderLength: 1_000_000);
        var ex = OpenFails(path);
        Assert.Contains("header length 1000000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("past the end", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_that_is_not_json_is_refused()
    {
        var path = _temp.File("bad-json.safetensors");
        TestCheckpoints.WriteRaw(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]""", Floats(1f));
        var ex = OpenFails(path);
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_offsets_past_the_end_of_the_data_are_refused_as_truncated()
    {
        var path = _temp.File("truncated-data.safetensors");
        // Declares 4 floats, stores 2.
        TestCheckpoints.WriteRaw(path, """{"weights.w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", Floats(1f, 2f));
        var ex = OpenFails(path);
        Assert.Contains("'weights.w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 16]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlapping_tensors_are_refused_naming_both()
    {
        var path = _temp.File("overlap.safetensors");
        TestCheckpoints.WriteRaw(path,
            """{"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""",
            Floats(1f, 2f, 3f));
        var ex = OpenFails(path);
        Assert.Contains("'first'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'second'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("overlap", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_dtype_is_refused_naming_the_tensor_and_dtype()
    {
        var path = _temp.File("dtype.safetensors");
        TestCheckpoints.WriteRaw(path, """{"q.weight":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", [1, 2, 3, 4]);
        var ex = OpenFails(path);
        Assert.Contains("'q.weight'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("F8_E4M3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_byte_length_that_disagrees_with_shape_and_dtype_is_refused()
    {
        var path = _temp.File("size.safetensors");
        // [3] F32 needs 12 bytes; the offsets give 16.
        TestCheckpoints.WriteRaw(path, """{"norm.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", Floats(1f, 2f, 3f, 4f));
        var ex = OpenFails(path);
        Assert.Contains("'norm.weight'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[3]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("needs 12", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_reported_with_its_path()
    {
        var path = _temp.File("absent.safetensors");
        var ex = Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, ex.FileName);
    }

    [Fact]
    public void A_tensor_at_an_offset_not_aligned_to_its_element_size_reads_correctly()
    {
        var path = _temp.File("unaligned.safetensors");
        // A 3-byte U8 tensor first puts the F32 tensor at data offset 3 (absolute offset 8 + header + 3, never a multiple of 4).
        float[] values = [1.5f, -2.25f, 3e-3f, 65504f, float.Epsilon];
        var data = new byte[] { 7, 8, 9 }.Concat(Floats(values)).ToArray();
        TestCheckpoints.WriteRaw(path,
            """{"bytes":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"odd":{"dtype":"F32","shape":[5],"data_offsets":[3,23]}}""", data);

        using var file = SafetensorsFile.Open(path);
        Assert.NotEqual(0, (file.DataOffset + file.Tensors["odd"].Begin) % 4);
        using var odd = file.Read("odd");
        using var bytes = file.Read("bytes");
        Assert.Equal(values, odd.data<float>().ToArray());
        Assert.Equal(new byte[] { 7, 8, 9 }, bytes.data<byte>().ToArray());
    }

    [Fact]
    public void Reading_and_writing_into_a_read_tensor_never_modifies_the_file()
    {
        var path = _temp.File("copy.safetensors");
        File.Copy(Path.Combine(FixtureCatalog.Tiny, "model.safetensors"), path);
        var before = TestCheckpoints.Sha256(path);
        var stamp = File.GetLastWriteTimeUtc(path);

        using (var file = SafetensorsFile.Open(path))
        using (no_grad())
        {
            foreach (var name in file.Tensors.Keys)
            {
                using var t = file.Read(name);
                t.fill_(42); // lands in the private mapping, not the file
            }
        }

        Assert.Equal(before, TestCheckpoints.Sha256(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));

        using var reopened = SafetensorsFile.Open(path);
        using var ln = reopened.Read("transformer.ln_f.weight");
        Assert.Equal(1f, ln[0].item<float>());
    }
}
