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

    /// <summary>One malformed file: how to write it, and what the error must say besides the file's path.</summary>
    public sealed record BadFile(string Name, Action<string> Write, params string[] Expected)
    {
        public override string ToString() => Name;
    }

    private static Action<string> Raw(string header, byte[] data, ulong? declaredHeaderLength = null) =>
        path => TestCheckpoints.WriteRaw(path, header, data, declaredHeaderLength);

    public static TheoryData<BadFile> BadFiles => new()
    {
        new BadFile("shorter than the length prefix", path => File.WriteAllBytes(path, [1, 2, 3, 4, 5]), "truncated", "5 bytes"),
        new BadFile("header length past the end of the file",
            Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Floats(1f), declaredHeaderLength: 1_000_000),
            "header length 1000000", "past the end"),
        new BadFile("header that is not JSON", Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]""", Floats(1f)), "not valid JSON"),
        // Declares 4 floats, stores 2.
        new BadFile("data offsets past the end of the data",
            Raw("""{"weights.w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", Floats(1f, 2f)),
            "'weights.w'", "[0, 16]", "truncated"),
        new BadFile("overlapping tensors",
            Raw("""{"first":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"second":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", Floats(1f, 2f, 3f)),
            "'first'", "'second'", "overlap"),
        new BadFile("unknown dtype", Raw("""{"q.weight":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", [1, 2, 3, 4]), "'q.weight'", "F8_E4M3"),
        // [3] F32 needs 12 bytes; the offsets give 16.
        new BadFile("byte length that disagrees with shape and dtype",
            Raw("""{"norm.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", Floats(1f, 2f, 3f, 4f)),
            "'norm.weight'", "[3]", "needs 12"),
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_malformed_file_is_refused_naming_the_file_and_what_is_wrong(BadFile bad)
    {
        var path = _temp.File("bad.safetensors");
        bad.Write(path);

        var ex = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path).Dispose());

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.All(bad.Expected, fragment => Assert.Contains(fragment, ex.Message, StringComparison.Ordinal));
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
