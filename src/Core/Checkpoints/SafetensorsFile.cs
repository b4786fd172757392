using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Checkpoints;

/// <summary>
/// A read-only view of one <c>.safetensors</c> file: the validated header, and tensors read on demand.
/// </summary>
/// <remarks>
/// Reading maps the file privately (<c>torch.from_file(shared: false)</c>): pages are read lazily by the OS and
/// never written back, so a tensor costs no memory until it is touched and the model file is never modified.
/// A tensor whose offset is not a multiple of its element size (legal but rare) is read through a stream instead.
/// Every structural problem is reported when the file is opened, as an <see cref="InvalidDataException"/> that
/// names the file and, where there is one, the tensor.
/// </remarks>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Largest header this reader accepts (the format's own limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;
    private readonly Dictionary<ScalarType, Tensor> _mappings = [];
    private readonly long _fileLength;
    private bool _disposed;

    private SafetensorsFile(string path, long fileLength, long dataOffset, Dictionary<string, SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _fileLength = fileLength;
        DataOffset = dataOffset;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>Absolute byte offset where the data section starts (8 + header length).</summary>
    public long DataOffset { get; }

    /// <summary>The header's <c>__metadata__</c> entries (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors the header declares, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => _tensors;

    /// <summary>Opens a file and validates its header against the file's size.</summary>
    /// <param name="path">Path of the <c>.safetensors</c> file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated, or the header is malformed or inconsistent.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"Safetensors file '{full}' does not exist.", full);
        }

        using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = stream.Length;
        if (length < 8)
        {
            throw new InvalidDataException($"{full}: file is truncated ({length} bytes); a safetensors file starts with an 8-byte header length.");
        }

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(length - 8))
        {
            throw new InvalidDataException($"{full}: header length {headerLength} runs past the end of the file ({length} bytes, so at most {length - 8} header bytes).");
        }

        if (headerLength > MaxHeaderBytes)
        {
            throw new InvalidDataException($"{full}: header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit.");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataOffset = 8 + (long)headerLength;
        var (tensors, metadata) = ParseHeader(full, header, length - dataOffset);
        return new SafetensorsFile(full, length, dataOffset, tensors, metadata);
    }

    /// <summary>Returns the header entry for a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name is in this file.</exception>
    public SafetensorsTensorInfo GetInfo(string name) =>
        _tensors.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");

    /// <summary>
    /// Reads a tensor as stored (same dtype and shape) on the CPU. The result is a private mapping of the file where
    /// the offset allows; the caller owns it and should dispose it (or convert it, which copies).
    /// </summary>
    /// <remarks>
    /// Reads of the same dtype from one instance share one private mapping, so writing into a result in place is
    /// visible to later reads from this instance (never to the file). Clone a tensor before modifying it.
    /// </remarks>
    /// <param name="name">The tensor's key.</param>
    /// <exception cref="KeyNotFoundException">No tensor of that name is in this file.</exception>
    public Tensor Read(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var info = GetInfo(name);
        var type = info.DType.ToScalarType();
        var shape = info.Shape.ToArray();
        int itemSize = info.DType.ItemSize();
        long absolute = DataOffset + info.Begin;
        if (info.ElementCount == 0)
        {
            return empty(shape, type);
        }

        if (absolute % itemSize == 0)
        {
            var mapping = GetMapping(type, itemSize);
            return mapping.narrow(0, absolute / itemSize, info.ElementCount).view(shape);
        }

        var result = empty(shape, type);
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        stream.Position = absolute;
        stream.ReadExactly(result.bytes);
        return result;
    }

    /// <summary>Chunk size of <see cref="CopyInto(string, Tensor)"/>: large enough for sequential reads, small beside any weight.</summary>
    public const long CopyChunkBytes = 64L << 20;

    /// <summary>
    /// Copies tensor <paramref name="name"/> into <paramref name="destination"/> (same shape, any dtype and device),
    /// reading it in chunks of rows with ordinary file reads. Neither a mapping of the file nor a full-size temporary
    /// stays resident, so converting a 16 GB fp32 checkpoint to bf16 needs the bf16 model plus one chunk of memory.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No tensor of that name is in this file.</exception>
    /// <exception cref="ArgumentException">The destination's shape differs from the stored one.</exception>
    public void CopyInto(string name, Tensor destination) => CopyInto(name, destination, CopyChunkBytes);

    /// <summary><see cref="CopyInto(string, Tensor)"/> with a given chunk size (tests use small ones to cross chunk boundaries).</summary>
    internal void CopyInto(string name, Tensor destination, long chunkBytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(destination);
        var info = GetInfo(name);
        if (!info.Shape.SequenceEqual(destination.shape))
        {
            throw new ArgumentException($"Tensor '{name}' in {System.IO.Path.GetFileName(Path)} has shape {info.ShapeText}; the destination has [{string.Join(", ", destination.shape)}].", nameof(destination));
        }

        if (info.ElementCount == 0)
        {
            return;
        }

        var type = info.DType.ToScalarType();
        long rows = info.Shape.Count == 0 ? 1 : info.Shape[0];
        long rowElements = info.ElementCount / rows;
        long rowsPerChunk = Math.Clamp(chunkBytes / (rowElements * info.DType.ItemSize()), 1, rows);
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20);
        stream.Position = DataOffset + info.Begin;
        using var target = destination.view(rows, rowElements);
        using var buffer = empty([rowsPerChunk, rowElements], type);
        for (long row = 0; row < rows; row += rowsPerChunk)
        {
            long count = Math.Min(rowsPerChunk, rows - row);
            using var chunk = count == rowsPerChunk ? buffer.alias() : empty([count, rowElements], type);
            stream.ReadExactly(chunk.bytes);
            using var slice = target.narrow(0, row, count);
            slice.copy_(chunk);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var mapping in _mappings.Values)
        {
            mapping.Dispose();
        }

        _mappings.Clear();
    }

    private Tensor GetMapping(ScalarType type, int itemSize)
    {
        if (!_mappings.TryGetValue(type, out var mapping))
        {
            // shared: false maps the file MAP_PRIVATE: writes (if any) stay in memory and never reach the model file.
            mapping = from_file(Path, shared: false, size: _fileLength / itemSize, dtype: type);
            mapping.DetachFromDisposeScope();
            _mappings[type] = mapping;
        }

        return mapping;
    }

    private static (Dictionary<string, SafetensorsTensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: the header is not valid JSON ({ex.Message}).", ex);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: the header is JSON {doc.RootElement.ValueKind}; expected an object of tensor entries.");
            }

            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var m in property.Value.EnumerateObject())
                        {
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                        }
                    }

                    continue;
                }

                tensors[property.Name] = ParseEntry(path, property.Name, property.Value, dataLength);
            }

            CheckOverlaps(path, tensors.Values);
            return (tensors, metadata);
        }
    }

    private static SafetensorsTensorInfo ParseEntry(string path, string name, JsonElement entry, long dataLength)
    {
        string Where() => $"{path}: tensor '{name}'";
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{Where()}: header entry is JSON {entry.ValueKind}; expected an object with dtype, shape and data_offsets.");
        }

        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException($"{Where()}: header entry has no string 'dtype'.");
        }

        var dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeName, out var dtype))
        {
            throw new InvalidDataException($"{Where()}: dtype '{dtypeName}' is unknown; expected one of {string.Join(", ", Enum.GetNames<SafetensorsDType>())}.");
        }

        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{Where()}: header entry has no 'shape' array.");
        }

        var shape = new List<long>();
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d) || d < 0)
            {
                throw new InvalidDataException($"{Where()}: shape entry {dim.GetRawText()} is not a non-negative integer.");
            }

            shape.Add(d);
        }

        if (!entry.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
        {
            throw new InvalidDataException($"{Where()}: header entry needs 'data_offsets' as two integers [begin, end].");
        }

        if (begin < 0 || end < begin)
        {
            throw new InvalidDataException($"{Where()}: data_offsets [{begin}, {end}] are out of order or negative.");
        }

        if (end > dataLength)
        {
            throw new InvalidDataException(
                $"{Where()}: data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes); the file is truncated or the offsets are out of range.");
        }

        var info = new SafetensorsTensorInfo(name, dtype, shape, begin, end);
        long expected;
        try
        {
            expected = checked(info.ElementCount * dtype.ItemSize());
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{Where()}: shape {info.ShapeText} is too large.");
        }

        if (expected != info.ByteLength)
        {
            throw new InvalidDataException(
                $"{Where()}: holds {info.ByteLength} bytes but shape {info.ShapeText} of {dtype} needs {expected} ({info.ElementCount} × {dtype.ItemSize()}).");
        }

        return info;
    }

    private static void CheckOverlaps(string path, IEnumerable<SafetensorsTensorInfo> tensors)
    {
        SafetensorsTensorInfo? previous = null;
        foreach (var t in tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin))
        {
            if (previous is not null && t.Begin < previous.End)
            {
                throw new InvalidDataException(
                    $"{path}: tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{t.Name}' [{t.Begin}, {t.End}) overlap.");
            }

            previous = t;
        }
    }

    /// <summary>Encodes a header string as the format lays it out, for writers.</summary>
    internal static byte[] EncodeHeader(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        int padded = (bytes.Length + 7) / 8 * 8;
        var result = new byte[padded];
        bytes.CopyTo(result, 0);
        for (int i = bytes.Length; i < padded; i++)
        {
            result[i] = (byte)' ';
        }

        return result;
    }
}
