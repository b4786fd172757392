using System.Buffers.Binary;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace RecurrentDepth.Checkpoints;

/// <summary>Writes tensors to a <c>.safetensors</c> file (used by training and by tests that build checkpoints).</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes the tensors, in the given order, with an 8-byte-aligned header. Tensors are moved to the CPU and made
    /// contiguous for writing; the inputs are not modified.
    /// </summary>
    /// <param name="path">Destination file; replaced if it exists (written to a temporary file first).</param>
    /// <param name="tensors">Name and tensor pairs.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> string entries.</param>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata)
            {
                meta[k] = v;
            }

            header["__metadata__"] = meta;
        }

        long offset = 0;
        foreach (var (name, tensor) in list)
        {
            var dtype = SafetensorsDTypes.FromScalarType(tensor.dtype);
            long bytes = tensor.NumberOfElements * dtype.ItemSize();
            header[name] = new JsonObject
            {
                ["dtype"] = dtype.ToString(),
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        var headerBytes = SafetensorsFile.EncodeHeader(header.ToJsonString());
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
            stream.Write(length);
            stream.Write(headerBytes);
            foreach (var (_, tensor) in list)
            {
                using var scope = NewDisposeScope();
                var cpu = tensor.detach().cpu().contiguous();
                stream.Write(cpu.bytes);
            }
        }

        File.Move(temp, path, overwrite: true);
    }
}
