using RecurrentDepth.Checkpoints;
using RecurrentDepth.Engine;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Checkpoints;

/// <summary>
/// A checkpoint whose tensors do not fit the config, or whose shard index does not fit its shards, is refused with a
/// message naming the tensor and the file.
/// </summary>
public sealed class CheckpointContentTests : IDisposable
{
    private static readonly ModelLoadOptions Cpu = new() { Device = "cpu", DType = "float32" };
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private InvalidDataException LoadFails() =>
        Assert.Throws<InvalidDataException>(() => RavenModel.Load(_temp.Path, Cpu).Dispose());

    [Fact]
    public void A_checkpoint_missing_a_model_tensor_is_refused_naming_it()
    {
        const string dropped = "transformer.core_block.3.mlp.proj.weight";
        TestCheckpoints.WriteFixtureCopy(_temp.Path, ts => ts.Where(t => t.Key != dropped).ToList());
        var ex = LoadFails();
        Assert.Contains($"'{dropped}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_with_a_tensor_the_model_lacks_is_refused_naming_it()
    {
        const string extra = "transformer.core_block.4.norm_1.weight";
        TestCheckpoints.WriteFixtureCopy(_temp.Path, ts => [.. ts, new(extra, ones(64))]);
        var ex = LoadFails();
        Assert.Contains($"'{extra}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not part of the model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tensor_whose_shape_disagrees_with_the_config_is_refused_naming_tensor_file_and_shapes()
    {
        const string name = "transformer.core_block.2.attn.Wqkv.weight";
        TestCheckpoints.WriteFixtureCopy(_temp.Path, ts => ts.Select(t => t.Key == name ? new KeyValuePair<string, Tensor>(name, zeros(192, 60)) : t).ToList());
        var ex = LoadFails();
        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[192, 60]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("requires [192, 64]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_with_a_different_width_than_the_weights_is_refused_naming_the_config_values()
    {
        TestCheckpoints.WriteFixtureCopy(_temp.Path, editConfig: c => c["intermediate_size"] = 128);
        var ex = LoadFails();
        Assert.Contains("intermediate_size 128", ex.Message, StringComparison.Ordinal);
        Assert.Contains("mlp.fc.weight", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_shard_named_in_the_index_but_absent_is_reported_with_its_path()
    {
        TestCheckpoints.WriteConfig(_temp.Path);
        var tensors = TestCheckpoints.ReadAll(Path.Combine(FixtureCatalog.Tiny, "model.safetensors"));
        try
        {
            TestCheckpoints.WriteShards(_temp.Path, tensors, 3);
        }
        finally
        {
            TestCheckpoints.Dispose(tensors);
        }

        var missing = _temp.File("model-00002-of-00003.safetensors");
        File.Delete(missing);
        var ex = Assert.Throws<FileNotFoundException>(() => RavenModel.Load(_temp.Path, Cpu).Dispose());
        Assert.Equal(missing, ex.FileName);
        Assert.Contains("'model-00002-of-00003.safetensors'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(SafetensorsCheckpoint.IndexFileName, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_index_placing_a_tensor_in_the_wrong_shard_is_refused_naming_tensor_and_both_shards()
    {
        TestCheckpoints.WriteConfig(_temp.Path);
        var tensors = TestCheckpoints.ReadAll(Path.Combine(FixtureCatalog.Tiny, "model.safetensors"));
        Dictionary<string, string> map;
        try
        {
            map = TestCheckpoints.WriteShards(_temp.Path, tensors, 3);
        }
        finally
        {
            TestCheckpoints.Dispose(tensors);
        }

        const string moved = "transformer.wte.weight";
        Assert.Equal("model-00001-of-00003.safetensors", map[moved]);
        map[moved] = "model-00003-of-00003.safetensors";
        TestCheckpoints.WriteIndex(_temp.Path, map);

        var ex = Assert.Throws<InvalidDataException>(() => SafetensorsCheckpoint.Open(_temp.Path).Dispose());
        Assert.Contains($"'{moved}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'model-00003-of-00003.safetensors'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'model-00001-of-00003.safetensors'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tensor_stored_in_two_shards_is_refused_naming_both_files()
    {
        var one = _temp.File("a.safetensors");
        var two = _temp.File("b.safetensors");
        SafetensorsWriter.Write(one, [new("x", zeros(2))]);
        SafetensorsWriter.Write(two, [new("x", zeros(2))]);
        TestCheckpoints.WriteIndex(_temp.Path, new Dictionary<string, string> { ["x"] = "a.safetensors", ["y"] = "b.safetensors" });
        var ex = Assert.Throws<InvalidDataException>(() => SafetensorsCheckpoint.Open(_temp.Path).Dispose());
        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(one, ex.Message, StringComparison.Ordinal);
        Assert.Contains(two, ex.Message, StringComparison.Ordinal);
    }

    private void WriteFixtureWithOneNaN(string name, long row, long column)
    {
        Tensor? damaged = null;
        try
        {
            TestCheckpoints.WriteFixtureCopy(_temp.Path, ts => ts.Select(t =>
            {
                if (t.Key != name)
                {
                    return t;
                }

                damaged = t.Value.clone();
                damaged[row, column] = float.NaN;
                return new KeyValuePair<string, Tensor>(name, damaged);
            }).ToList());
        }
        finally
        {
            damaged?.Dispose();
        }
    }

    [Fact]
    public void A_weight_holding_NaN_is_refused_naming_the_tensor_when_finiteness_is_checked()
    {
        const string name = "transformer.wte.weight";
        WriteFixtureWithOneNaN(name, 7, 3);

        var ex = Assert.Throws<InvalidDataException>(() => RavenModel.Load(_temp.Path, Cpu with { CheckFinite = true }).Dispose());

        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1 non-finite value(s) (1 NaN, 0 infinite)", ex.Message, StringComparison.Ordinal);
        // Unchecked, the same file loads: the check is what stops it, not some other validation.
        RavenModel.Load(_temp.Path, Cpu).Dispose();
    }

    [Fact]
    public void The_engine_checks_weights_by_default_and_CheckWeights_false_loads_them()
    {
        WriteFixtureWithOneNaN("transformer.core_block.1.attn.Wqkv.weight", 0, 0);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(FixtureCatalog.Tiny, file), _temp.File(file));
        }

        var options = new EngineOptions { ModelPath = _temp.Path, Device = "cpu", DType = "float32" };
        Assert.True(options.CheckWeights);

        var ex = Assert.Throws<InvalidDataException>(() => InferenceEngine.Load(options).Dispose());
        Assert.Contains("'transformer.core_block.1.attn.Wqkv.weight'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RecurrentDepth:CheckWeights", ex.Message, StringComparison.Ordinal);
        InferenceEngine.Load(options with { CheckWeights = false }).Dispose();
    }
}
