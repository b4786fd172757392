using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using RecurrentDepth.Checkpoints;
using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Benchmarks.FullSize;

/// <summary>
/// Writes a checkpoint with huginn-0125's config and layout (spec §1-2): config.json, every one of the 77 tensors
/// in the Hub's order of size, split over 4 safetensors shards of at most ~4.8 GB, plus
/// <c>model.safetensors.index.json</c>. Weights are random (normal, the init std), norms are ones, <c>lm_head</c>
/// duplicates <c>wte</c> and <c>freqs_cis</c> is the real RoPE table, so the loader's checks all apply. Tensors are
/// generated and written one at a time: memory stays at the largest tensor (wte, 1.4 GB in fp32).
/// </summary>
public static class HuginnShapedCheckpoint
{
    private const long ShardLimitBytes = 4_800_000_000;

    /// <summary>huginn-0125's configuration (spec §1).</summary>
    public static RavenConfig Config { get; } = new()
    {
        NEmbd = 5280,
        NHeads = 55,
        NumKeyValueHeads = 55,
        NLayersInPrelude = 2,
        NLayersInRecurrentBlock = 4,
        NLayersInCoda = 2,
        IntermediateSize = 17920,
        VocabSize = 65536,
        BlockSize = 4096,
        RopeBase = 50_000,
        MeanRecurrence = 32,
    };

    /// <summary>Every tensor's key and shape, in the checkpoint's order.</summary>
    public static IReadOnlyList<(string Key, long[] Shape)> Tensors()
    {
        var c = Config;
        long h = c.NEmbd;
        var list = new List<(string, long[])> { ("transformer.wte.weight", [c.VocabSize, h]) };
        void Block(string prefix)
        {
            list.Add(($"{prefix}.norm_1.weight", [h]));
            list.Add(($"{prefix}.attn.Wqkv.weight", [3 * h, h]));
            list.Add(($"{prefix}.attn.qk_bias", [2, 1, c.NHeads, c.HeadDim]));
            list.Add(($"{prefix}.attn.proj.weight", [h, h]));
            list.Add(($"{prefix}.norm_2.weight", [h]));
            list.Add(($"{prefix}.mlp.fc.weight", [2L * c.IntermediateSize, h]));
            list.Add(($"{prefix}.mlp.proj.weight", [h, c.IntermediateSize]));
            list.Add(($"{prefix}.norm_3.weight", [h]));
            list.Add(($"{prefix}.norm_4.weight", [h]));
        }

        for (int i = 0; i < c.NLayersInPrelude; i++)
        {
            Block($"transformer.prelude.{i}");
        }

        list.Add(("transformer.adapter.weight", [h, 2 * h]));
        for (int i = 0; i < c.NLayersInRecurrentBlock; i++)
        {
            Block($"transformer.core_block.{i}");
        }

        for (int i = 0; i < c.NLayersInCoda; i++)
        {
            Block($"transformer.coda.{i}");
        }

        list.Add(("transformer.ln_f.weight", [h]));
        list.Add((ModelLoader.LmHeadKey, [c.VocabSize, h]));
        list.Add((ModelLoader.FreqsCisKey, [1, c.BlockSize, 1, c.HeadDim / 2, 2]));
        return list;
    }

    /// <summary>Writes the checkpoint into <paramref name="folder"/> (created); returns the bytes written.</summary>
    public static long Write(string folder, ScalarType shardDType, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(log);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), Config.ToJson(torchDtype: "bfloat16"));
        var stored = SafetensorsDTypes.FromScalarType(shardDType);
        int itemSize = stored.ItemSize();

        var shards = new List<List<(string Key, long[] Shape)>> { new() };
        long inShard = 0;
        foreach (var tensor in Tensors())
        {
            long bytes = tensor.Shape.Aggregate(1L, (a, b) => a * b) * itemSize;
            if (inShard > 0 && inShard + bytes > ShardLimitBytes)
            {
                shards.Add([]);
                inShard = 0;
            }

            shards[^1].Add(tensor);
            inShard += bytes;
        }

        var weightMap = new JsonObject();
        long total = 0;
        for (int s = 0; s < shards.Count; s++)
        {
            var name = $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors";
            total += WriteShard(Path.Combine(folder, name), shards[s], shardDType, stored, itemSize);
            foreach (var (key, _) in shards[s])
            {
                weightMap[key] = name;
            }

            log($"wrote {name} ({shards[s].Count} tensors)");
        }

        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(folder, SafetensorsCheckpoint.IndexFileName), index.ToJsonString());
        return total;
    }

    private static long WriteShard(string path, List<(string Key, long[] Shape)> tensors, ScalarType dtype, SafetensorsDType stored, int itemSize)
    {
        var header = new JsonObject();
        long offset = 0;
        foreach (var (key, shape) in tensors)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * itemSize;
            header[key] = new JsonObject
            {
                ["dtype"] = stored.ToString(),
                ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        // safetensors: u64 header length, JSON header padded with spaces to 8 bytes, then the data.
        var json = header.ToJsonString();
        json += new string(' ', (8 - Encoding.UTF8.GetByteCount(json) % 8) % 8);
        var headerBytes = Encoding.UTF8.GetBytes(json);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        foreach (var (key, shape) in tensors)
        {
            using var scope = NewDisposeScope();
            var values = Values(key, shape).to(dtype).contiguous();
            stream.Write(values.bytes);
        }

        return stream.Length;
    }

    private static Tensor Values(string key, long[] shape)
    {
        if (key == ModelLoader.FreqsCisKey)
        {
            using var rotary = new RotaryEmbedding(Config.HeadDim, Config.BlockSize, Config.RopeBase, CPU);
            return stack([rotary.Cos, rotary.Sin], -1).view(shape);
        }

        if (key.Contains(".norm_", StringComparison.Ordinal) || key.EndsWith("ln_f.weight", StringComparison.Ordinal))
        {
            return ones(shape);
        }

        if (key.EndsWith("qk_bias", StringComparison.Ordinal))
        {
            return zeros(shape);
        }

        // lm_head repeats wte's values (one seed for both), as the tied Hub checkpoint stores two equal copies.
        using var generator = new Generator(StableSeed(key == ModelLoader.LmHeadKey ? "transformer.wte.weight" : key), CPU);
        return randn(shape, generator: generator).mul_(Config.InitStd);
    }

    // FNV-1a: string.GetHashCode is randomised per process, and the same checkpoint should come out every time.
    private static ulong StableSeed(string key)
    {
        ulong hash = 14695981039346656037;
        foreach (char ch in key)
        {
            hash = (hash ^ ch) * 1099511628211;
        }

        return hash;
    }
}
