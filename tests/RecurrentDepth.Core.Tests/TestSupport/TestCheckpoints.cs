using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using RecurrentDepth.Checkpoints;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.TestSupport;

/// <summary>Builds checkpoints for tests: raw safetensors bytes, and edited copies of the tiny fixture.</summary>
public static class TestCheckpoints
{
    /// <summary>Writes a safetensors file from a header JSON text and raw data bytes, as the format lays them out.</summary>
    /// <param name="declaredHeaderLength">Overrides the 8-byte length prefix (to fake a corrupt file).</param>
    public static void WriteRaw(string path, string headerJson, byte[] data, ulong? declaredHeaderLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        int padded = (header.Length + 7) / 8 * 8;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, declaredHeaderLength ?? (ulong)padded);
        stream.Write(length);
        stream.Write(header);
        for (int i = header.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }

        stream.Write(data);
    }

    /// <summary>Every tensor of a safetensors file, in data order, copied into memory (the caller disposes them).</summary>
    public static List<KeyValuePair<string, Tensor>> ReadAll(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.Tensors.Values.OrderBy(t => t.Begin)
            .Select(t =>
            {
                using var mapped = file.Read(t.Name);
                var copy = mapped.clone();
                copy.DetachFromDisposeScope();
                return new KeyValuePair<string, Tensor>(t.Name, copy);
            })
            .ToList();
    }

    /// <summary>
    /// Creates a model folder in <paramref name="folder"/>: the tiny fixture's config.json (optionally edited) and
    /// a model.safetensors with the fixture's tensors passed through <paramref name="edit"/>.
    /// </summary>
    public static void WriteFixtureCopy(string folder, Func<List<KeyValuePair<string, Tensor>>, List<KeyValuePair<string, Tensor>>>? edit = null,
        Action<JsonObject>? editConfig = null)
    {
        WriteConfig(folder, editConfig);
        var tensors = ReadAll(Path.Combine(FixtureCatalog.Tiny, "model.safetensors"));
        try
        {
            SafetensorsWriter.Write(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName), edit is null ? tensors : edit(tensors));
        }
        finally
        {
            Dispose(tensors);
        }
    }

    /// <summary>Copies the tiny fixture's config.json into <paramref name="folder"/>, optionally edited.</summary>
    public static void WriteConfig(string folder, Action<JsonObject>? editConfig = null)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureCatalog.Tiny, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as <paramref name="shards"/> Hugging Face shards
    /// (model-0000i-of-0000n.safetensors) plus model.safetensors.index.json; returns the weight map.
    /// </summary>
    public static Dictionary<string, string> WriteShards(string folder, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, int shards)
    {
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        long perShard = (tensors.Count + shards - 1) / shards;
        long totalSize = 0;
        for (int s = 0; s < shards; s++)
        {
            var name = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = tensors.Skip((int)(s * perShard)).Take((int)perShard).ToList();
            SafetensorsWriter.Write(Path.Combine(folder, name), part);
            foreach (var (key, tensor) in part)
            {
                weightMap[key] = name;
                totalSize += tensor.NumberOfElements * tensor.ElementSize;
            }
        }

        WriteIndex(folder, weightMap, totalSize);
        return weightMap;
    }

    /// <summary>Writes a model.safetensors.index.json with the given weight map.</summary>
    public static void WriteIndex(string folder, IReadOnlyDictionary<string, string> weightMap, long totalSize = 0)
    {
        var map = new JsonObject();
        foreach (var (k, v) in weightMap)
        {
            map[k] = v;
        }

        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = totalSize }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(folder, SafetensorsCheckpoint.IndexFileName), index.ToJsonString());
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    public static void Dispose(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (_, t) in tensors)
        {
            t.Dispose();
        }
    }
}
