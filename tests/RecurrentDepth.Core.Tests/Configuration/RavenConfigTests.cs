using System.Text.Json.Nodes;
using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Configuration;

/// <summary>config.json parsing: aliases, derived values, and validation messages that name the field and value.</summary>
public sealed class RavenConfigTests
{
    private static JsonObject FixtureJson() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureCatalog.Tiny, "config.json")))!.AsObject();

    private static InvalidDataException ParseFails(Action<JsonObject> edit)
    {
        var json = FixtureJson();
        edit(json);
        var ex = Assert.Throws<InvalidDataException>(() => RavenConfig.Parse(json.ToJsonString(), "edited/config.json"));
        Assert.Contains("edited/config.json", ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Fact]
    public void The_fixture_config_parses_with_its_derived_values()
    {
        var config = RavenConfig.Load(Path.Combine(FixtureCatalog.Tiny, "config.json"));
        Assert.Equal(64, config.NEmbd);
        Assert.Equal(4, config.NHeads);
        Assert.Equal(16, config.HeadDim);
        Assert.Equal(8.0, config.EmbedScale);
        Assert.Equal(0.07905694150420949, config.InitStd, 1e-15);
        Assert.Equal(8, config.NLayers);
        Assert.Equal(132, config.EffectiveExpectedDepth);
        Assert.Equal(512, config.VocabSize);
        Assert.Equal(50_000, config.RopeBase);
    }

    [Fact]
    public void Hugging_Face_aliases_are_accepted()
    {
        var json = FixtureJson();
        foreach (var (name, alias) in new[] { ("n_embd", "hidden_size"), ("n_heads", "num_attention_heads"), ("n_layers", "num_hidden_layers") })
        {
            var value = json[name]!.DeepClone();
            json.Remove(name);
            json[alias] = value;
        }

        var config = RavenConfig.Parse(json.ToJsonString());
        Assert.Equal(64, config.NEmbd);
        Assert.Equal(4, config.NHeads);
        Assert.Equal(8, config.NLayers);
    }

    [Fact]
    public void Derived_values_of_huginn_0125_match_the_spec()
    {
        var config = new RavenConfig
        {
            NEmbd = 5280, NHeads = 55, NumKeyValueHeads = 55, NLayersInPrelude = 2, NLayersInRecurrentBlock = 4, NLayersInCoda = 2,
            IntermediateSize = 17920, VocabSize = 65536,
        }.Validate("code");
        Assert.Equal(96, config.HeadDim);
        Assert.Equal(72.66360849, config.EmbedScale, 1e-7);
        Assert.Equal(0.0087039, config.InitStd, 1e-7);
        Assert.Equal(Math.Sqrt(0.4), config.InitStd * config.EmbedScale, 1e-12);
        Assert.Equal(132, config.EffectiveExpectedDepth);
    }

    [Fact]
    public void Heads_that_do_not_divide_n_embd_are_refused()
    {
        var ex = ParseFails(c => { c["n_heads"] = 5; c["num_key_value_heads"] = 5; });
        Assert.Contains("'n_heads' is 5", ex.Message, StringComparison.Ordinal);
        Assert.Contains("n_embd (64)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("n_layers_in_prelude")]
    [InlineData("n_layers_in_recurrent_block")]
    [InlineData("n_layers_in_coda")]
    public void A_layer_count_below_one_is_refused(string field)
    {
        var ex = ParseFails(c => { c[field] = 0; c.Remove("n_layers"); });
        Assert.Contains($"'{field}' is 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_injection_type_is_refused()
    {
        var ex = ParseFails(c => c["injection_type"] = "add");
        Assert.Contains("'injection_type' is \"add\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_state_init_is_refused()
    {
        var ex = ParseFails(c => c["state_init"] = "zero");
        Assert.Contains("'state_init' is \"zero\"", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-10000.0)]
    public void A_rope_base_that_is_not_positive_is_refused(double ropeBase)
    {
        var ex = ParseFails(c => c["rope_base"] = ropeBase);
        Assert.Contains($"'rope_base' is {ropeBase}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_n_layers_that_disagrees_with_the_stage_counts_is_refused()
    {
        var ex = ParseFails(c => c["n_layers"] = 9);
        Assert.Contains("'n_layers' is 9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected 8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_field_is_named()
    {
        var ex = ParseFails(c => c.Remove("intermediate_size"));
        Assert.Contains("'intermediate_size'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_field_of_the_wrong_type_is_named_with_its_value()
    {
        var ex = ParseFails(c => c["n_embd"] = "64");
        Assert.Contains("'n_embd' is \"64\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Arbitrary_stage_depths_build_and_run_a_forward_pass()
    {
        var config = new RavenConfig
        {
            NEmbd = 32, NHeads = 2, NumKeyValueHeads = 2, NLayersInPrelude = 1, NLayersInRecurrentBlock = 3, NLayersInCoda = 1,
            IntermediateSize = 48, VocabSize = 100, BlockSize = 64,
        }.Validate("code");
        using var model = new RavenModel(config, ScalarType.Float32, CPU);
        var keys = model.ParametersByKey();
        Assert.Contains("transformer.core_block.2.mlp.fc.weight", keys.Keys);
        Assert.DoesNotContain("transformer.core_block.3.mlp.fc.weight", keys.Keys);
        Assert.DoesNotContain("transformer.prelude.1.norm_1.weight", keys.Keys);
        Assert.Equal(3 + (1 + 3 + 1) * 9, keys.Count); // wte, adapter, ln_f + 9 per block
        using (no_grad())
        using (var generator = new Generator(3, CPU))
        {
            foreach (var (name, p) in keys)
            {
                if (!name.EndsWith("norm_1.weight", StringComparison.Ordinal))
                {
                    p.copy_(randn(p.shape, generator: generator) * 0.05);
                }
            }
        }

        using var ids = randint(0, 100, [2, 7], ScalarType.Int64);
        using var s0Generator = new Generator(5, CPU);
        using var output = model.Forward(ids, numSteps: 3, initScale: 1, generator: s0Generator);
        Assert.Equal(new long[] { 2, 7, 100 }, output.Logits.shape);
        Assert.Equal(ScalarType.Float32, output.Logits.dtype);
        Assert.True(output.Logits.isfinite().all().item<bool>(), "Logits of a 1/3/1 model are not finite.");
        Assert.Equal(new long[] { 2, 7, 32 }, output.LatentStates.shape);
    }
}
