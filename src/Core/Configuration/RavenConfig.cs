using System.Text.Json;
using System.Text.Json.Nodes;

namespace RecurrentDepth.Configuration;

/// <summary>
/// The architecture of a Huginn ("Raven") recurrent-depth model, read from a Hugging Face <c>config.json</c> in the
/// huginn-0125 schema. Field names follow the checkpoint's config class; the Hugging Face aliases
/// <c>hidden_size</c>, <c>num_attention_heads</c> and <c>num_hidden_layers</c> are accepted too.
/// </summary>
/// <remarks>Instances are immutable and validated on construction: an invalid configuration never exists.</remarks>
public sealed record RavenConfig
{
    /// <summary>Width of the residual stream (<c>n_embd</c>, alias <c>hidden_size</c>). huginn-0125: 5280.</summary>
    public required int NEmbd { get; init; }

    /// <summary>Number of attention heads (<c>n_heads</c>, alias <c>num_attention_heads</c>). huginn-0125: 55.</summary>
    public required int NHeads { get; init; }

    /// <summary>Number of key/value heads. Huginn has no grouped-query attention, so this equals <see cref="NHeads"/>.</summary>
    public int NumKeyValueHeads { get; init; }

    /// <summary>Layers in the prelude (<c>n_layers_in_prelude</c>). huginn-0125: 2.</summary>
    public required int NLayersInPrelude { get; init; }

    /// <summary>Layers in the recurrent core block (<c>n_layers_in_recurrent_block</c>). huginn-0125: 4.</summary>
    public required int NLayersInRecurrentBlock { get; init; }

    /// <summary>Layers in the coda (<c>n_layers_in_coda</c>). huginn-0125: 2.</summary>
    public required int NLayersInCoda { get; init; }

    /// <summary>Inner width of the gated MLP (<c>intermediate_size</c>). huginn-0125: 17920.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Vocabulary size of the embedding and tied head (<c>padded_vocab_size</c>, else <c>vocab_size</c>).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Maximum context in tokens (<c>block_size</c>), the length of the RoPE table. huginn-0125: 4096.</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>RoPE base θ (<c>rope_base</c>). huginn-0125: 50000.</summary>
    public double RopeBase { get; init; } = 50_000;

    /// <summary>RMSNorm epsilon (<c>norm_eps</c>). huginn-0125: 1e-6.</summary>
    public double NormEps { get; init; } = 1e-6;

    /// <summary>Whether attention carries the learned additive Q/K bias (<c>qk_bias</c>).</summary>
    public bool QkBias { get; init; } = true;

    /// <summary>Whether the LM head is tied to the token embedding (<c>tie_embeddings</c>).</summary>
    public bool TieEmbeddings { get; init; } = true;

    /// <summary>How the embedded input enters each recurrence (<c>injection_type</c>); only <c>linear</c> is supported.</summary>
    public string InjectionType { get; init; } = "linear";

    /// <summary>How the initial latent state is drawn (<c>state_init</c>); only <c>like-init</c> is supported.</summary>
    public string StateInit { get; init; } = "like-init";

    /// <summary>Default number of recurrence steps at inference (<c>mean_recurrence</c>). huginn-0125: 32.</summary>
    public int MeanRecurrence { get; init; } = 32;

    /// <summary>Number of recurrences that receive gradients in training (<c>mean_backprop_depth</c>). huginn-0125: 8.</summary>
    public int MeanBackpropDepth { get; init; } = 8;

    /// <summary>Dtype the checkpoint declares (<c>torch_dtype</c>), informational.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>Width of one attention head: <see cref="NEmbd"/> / <see cref="NHeads"/>.</summary>
    public int HeadDim => NEmbd / NHeads;

    /// <summary>Embedding scale √n_embd; token embeddings and the initial state are multiplied by it.</summary>
    public double EmbedScale => Math.Sqrt(NEmbd);

    /// <summary>Standard deviation of the reference initialisation, √(2 / (5·n_embd)); s0 is drawn with it.</summary>
    public double InitStd => Math.Sqrt(2.0 / (5.0 * NEmbd));

    /// <summary>Total number of "real" layers: prelude + core + coda.</summary>
    public int NLayers => NLayersInPrelude + NLayersInRecurrentBlock + NLayersInCoda;

    /// <summary>Depth the reference uses for its output-projection init: prelude + coda + core·mean_recurrence.</summary>
    public int EffectiveExpectedDepth => NLayersInPrelude + NLayersInCoda + NLayersInRecurrentBlock * MeanRecurrence;

    /// <summary>
    /// Checks every invariant the model relies on and throws <see cref="InvalidDataException"/> naming the field and
    /// the bad value. Called by the loaders; call it yourself after building a config in code.
    /// </summary>
    /// <param name="source">Where the config came from, used in error messages (a path, or "code").</param>
    /// <returns>This instance, for chaining.</returns>
    public RavenConfig Validate(string source = "config")
    {
        static void Require(bool ok, string source, string field, object value, string expected)
        {
            if (!ok)
            {
                throw new InvalidDataException($"{source}: '{field}' is {value}; expected {expected}.");
            }
        }

        Require(NEmbd > 0, source, "n_embd", NEmbd, "a positive integer");
        Require(NHeads > 0, source, "n_heads", NHeads, "a positive integer");
        Require(NEmbd % NHeads == 0, source, "n_heads", NHeads, $"a divisor of n_embd ({NEmbd})");
        Require(HeadDim % 2 == 0, source, "n_embd / n_heads", HeadDim, "an even head dimension (RoPE rotates pairs)");
        Require(NumKeyValueHeads == NHeads, source, "num_key_value_heads", NumKeyValueHeads, $"n_heads ({NHeads}); Huginn has no grouped-query attention");
        Require(NLayersInPrelude >= 1, source, "n_layers_in_prelude", NLayersInPrelude, "at least 1");
        Require(NLayersInRecurrentBlock >= 1, source, "n_layers_in_recurrent_block", NLayersInRecurrentBlock, "at least 1");
        Require(NLayersInCoda >= 1, source, "n_layers_in_coda", NLayersInCoda, "at least 1");
        Require(IntermediateSize > 0, source, "intermediate_size", IntermediateSize, "a positive integer");
        Require(VocabSize > 0, source, "vocab_size", VocabSize, "a positive integer");
        Require(BlockSize > 0, source, "block_size", BlockSize, "a positive integer");
        Require(RopeBase > 0 && double.IsFinite(RopeBase), source, "rope_base", RopeBase, "a positive number");
        Require(NormEps > 0 && double.IsFinite(NormEps), source, "norm_eps", NormEps, "a positive number");
        Require(InjectionType == "linear", source, "injection_type", $"\"{InjectionType}\"", "\"linear\"");
        Require(StateInit == "like-init", source, "state_init", $"\"{StateInit}\"", "\"like-init\"");
        Require(MeanRecurrence >= 1, source, "mean_recurrence", MeanRecurrence, "at least 1");
        Require(TieEmbeddings, source, "tie_embeddings", "false", "true (the head reads the embedding matrix)");
        return this;
    }

    /// <summary>Reads and validates a <c>config.json</c> file.</summary>
    /// <param name="path">Path of the file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The JSON is malformed, a required field is missing or a value is invalid.</exception>
    public static RavenConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model configuration '{path}' does not exist.", path);
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates the text of a <c>config.json</c>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where it came from, used in error messages.</param>
    /// <exception cref="InvalidDataException">The JSON is malformed, a required field is missing or a value is invalid.</exception>
    public static RavenConfig Parse(string json, string source = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject
                ?? throw new InvalidDataException($"{source}: the top level is not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: invalid JSON ({ex.Message}).", ex);
        }

        int nHeads = RequiredInt(root, source, "n_heads", "num_attention_heads");
        int vocab = OptionalInt(root, source, "padded_vocab_size") ?? RequiredInt(root, source, "vocab_size");
        return new RavenConfig
        {
            NEmbd = RequiredInt(root, source, "n_embd", "hidden_size"),
            NHeads = nHeads,
            NumKeyValueHeads = OptionalInt(root, source, "num_key_value_heads") ?? nHeads,
            NLayersInPrelude = RequiredInt(root, source, "n_layers_in_prelude"),
            NLayersInRecurrentBlock = RequiredInt(root, source, "n_layers_in_recurrent_block"),
            NLayersInCoda = RequiredInt(root, source, "n_layers_in_coda"),
            IntermediateSize = RequiredInt(root, source, "intermediate_size"),
            VocabSize = vocab,
            BlockSize = OptionalInt(root, source, "block_size") ?? 4096,
            RopeBase = OptionalDouble(root, source, "rope_base") ?? 50_000,
            NormEps = OptionalDouble(root, source, "norm_eps") ?? 1e-6,
            QkBias = OptionalBool(root, source, "qk_bias") ?? true,
            TieEmbeddings = OptionalBool(root, source, "tie_embeddings") ?? true,
            InjectionType = OptionalString(root, source, "injection_type") ?? "linear",
            StateInit = OptionalString(root, source, "state_init") ?? "like-init",
            MeanRecurrence = OptionalInt(root, source, "mean_recurrence") ?? 32,
            MeanBackpropDepth = OptionalInt(root, source, "mean_backprop_depth") ?? 8,
            TorchDtype = OptionalString(root, source, "torch_dtype"),
        }.ValidateNumLayers(root, source).Validate(source);
    }

    /// <summary>
    /// Writes this configuration as a <c>config.json</c> in the huginn-0125 schema (sorted keys, derived fields
    /// included), so that the reference implementation and this library both read it.
    /// </summary>
    public string ToJson(string torchDtype = "float32")
    {
        var init = new JsonObject
        {
            ["embed_scale"] = EmbedScale,
            ["embedding"] = InitStd,
            ["out_proj"] = InitStd / Math.Sqrt(2.0 * EffectiveExpectedDepth),
            ["std"] = InitStd,
        };
        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["architectures"] = new JsonArray("RavenForCausalLM"),
            ["bias"] = false,
            ["block_size"] = BlockSize,
            ["effective_expected_depth"] = EffectiveExpectedDepth,
            ["head_dim"] = HeadDim,
            ["init_values"] = init,
            ["injection_type"] = InjectionType,
            ["intermediate_size"] = IntermediateSize,
            ["mean_backprop_depth"] = MeanBackpropDepth,
            ["mean_recurrence"] = MeanRecurrence,
            ["mlp_class_name"] = "GatedMLP",
            ["model_type"] = "huginn_raven",
            ["n_embd"] = NEmbd,
            ["n_heads"] = NHeads,
            ["n_layers"] = NLayers,
            ["n_layers_in_coda"] = NLayersInCoda,
            ["n_layers_in_prelude"] = NLayersInPrelude,
            ["n_layers_in_recurrent_block"] = NLayersInRecurrentBlock,
            ["nonlin_name"] = "SiLU",
            ["norm_class_name"] = "RMSNorm_llama",
            ["norm_eps"] = NormEps,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["padded_vocab_size"] = VocabSize,
            ["qk_bias"] = QkBias,
            ["rope_base"] = RopeBase,
            ["state_init"] = StateInit,
            ["tie_embeddings"] = TieEmbeddings,
            ["torch_dtype"] = torchDtype,
            ["vocab_size"] = VocabSize,
        };
        var obj = new JsonObject();
        foreach (var (key, value) in fields)
        {
            obj[key] = value;
        }

        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private RavenConfig ValidateNumLayers(JsonObject root, string source)
    {
        int? declared = OptionalInt(root, source, "n_layers", "num_hidden_layers");
        if (declared is int n && n != NLayers)
        {
            throw new InvalidDataException(
                $"{source}: 'n_layers' is {n}; expected {NLayers} (= n_layers_in_prelude {NLayersInPrelude} + " +
                $"n_layers_in_recurrent_block {NLayersInRecurrentBlock} + n_layers_in_coda {NLayersInCoda}).");
        }

        return this;
    }

    private static JsonNode? Find(JsonObject root, string[] names, out string foundName)
    {
        foreach (var name in names)
        {
            if (root.TryGetPropertyValue(name, out var node) && node is not null)
            {
                foundName = name;
                return node;
            }
        }

        foundName = names[0];
        return null;
    }

    private static int RequiredInt(JsonObject root, string source, params string[] names) =>
        OptionalInt(root, source, names)
        ?? throw new InvalidDataException($"{source}: required field '{string.Join("' (or '", names)}'{(names.Length > 1 ? ")" : "")} is missing.");

    private static int? OptionalInt(JsonObject root, string source, params string[] names)
    {
        var node = Find(root, names, out var name);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue(out long l) && l is >= int.MinValue and <= int.MaxValue)
        {
            return (int)l;
        }

        if (node is JsonValue d && d.TryGetValue(out double x) && x == Math.Floor(x) && Math.Abs(x) <= int.MaxValue)
        {
            return (int)x;
        }

        throw new InvalidDataException($"{source}: '{name}' is {node.ToJsonString()}; expected an integer.");
    }

    private static double? OptionalDouble(JsonObject root, string source, string name)
    {
        var node = Find(root, [name], out _);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue(out double d))
        {
            return d;
        }

        throw new InvalidDataException($"{source}: '{name}' is {node.ToJsonString()}; expected a number.");
    }

    private static bool? OptionalBool(JsonObject root, string source, string name)
    {
        var node = Find(root, [name], out _);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue(out bool b))
        {
            return b;
        }

        throw new InvalidDataException($"{source}: '{name}' is {node.ToJsonString()}; expected true or false.");
    }

    private static string? OptionalString(JsonObject root, string source, string name)
    {
        var node = Find(root, [name], out _);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue(out string? s))
        {
            return s;
        }

        throw new InvalidDataException($"{source}: '{name}' is {node.ToJsonString()}; expected a string.");
    }
}
