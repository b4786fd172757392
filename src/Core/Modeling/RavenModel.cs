using RecurrentDepth.Checkpoints;
using RecurrentDepth.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// A Huginn recurrent-depth language model (<c>RavenForCausalLM</c>): embed → prelude → r × (adapter ∘ core) →
/// ln_f → coda → ln_f → tied head. The recurrence count r is a per-call argument, not part of the model.
/// </summary>
/// <remarks>
/// The building blocks (<see cref="Embed"/>, <see cref="RunPrelude"/>, <see cref="Iterate"/>, <see cref="Recur"/>,
/// <see cref="Readout"/>) are public so that generation can exit early per token; <see cref="Forward"/> composes them
/// as the reference does.
/// The model is not thread-safe: one thread (the engine's) runs it. Create it with <see cref="Load(string, ModelLoadOptions?, IProgress{ModelLoadProgress}?)"/>.
/// </remarks>
public sealed class RavenModel : nn.Module
{
    private readonly RavenTransformer transformer;
    private ScriptedBlocks? _scripted;
    private bool _useTorchScript;

    /// <summary>Creates a model with uninitialised weights (norm weights 1, qk_bias 0); load or initialise it next.</summary>
    /// <param name="config">A validated configuration.</param>
    /// <param name="dtype">Compute and storage dtype of the weights: fp32, bf16 or fp16.</param>
    /// <param name="device">Device that holds the weights.</param>
    public RavenModel(RavenConfig config, ScalarType dtype, Device device) : base("RavenForCausalLM")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(device);
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
        {
            throw new ArgumentException($"Model dtype {dtype} is not supported; expected Float32, BFloat16 or Float16.", nameof(dtype));
        }

        Config = config.Validate("model config");
        DType = dtype;
        Device = device;
        transformer = new RavenTransformer(config, dtype, device);
        Rotary = new RotaryEmbedding(config.HeadDim, config.BlockSize, config.RopeBase, device);
        _useTorchScript = dtype == ScalarType.Float32;
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public RavenConfig Config { get; }

    /// <summary>Dtype of weights and activations (logits are always fp32).</summary>
    public ScalarType DType { get; }

    /// <summary>Device holding the weights.</summary>
    public Device Device { get; }

    /// <summary>RoPE tables for positions 0 .. block_size − 1.</summary>
    public RotaryEmbedding Rotary { get; }

    internal RavenTransformer Transformer => transformer;

    /// <summary>
    /// Whether the sandwich blocks (<see cref="RunPrelude"/>, <see cref="Iterate"/>, the coda of <see cref="Readout"/>) run
    /// as TorchScript (<see cref="ScriptedBlocks"/>, compiled on first use) instead of eager calls: same arithmetic,
    /// fewer calls across the native boundary, measured faster on CPU
    /// (docs/performance.md). Default: on for fp32 models; the script has no bf16/fp16 form, so setting it on for
    /// those throws. The engine's thread owns the model; set it before serving. The scripts keep a few tensors derived
    /// from the weights (each block's fused Q/K/V bias); switching them back on after they were off (e.g. after
    /// training, which runs eager) rebuilds those from the weights as they are then.
    /// </summary>
    /// <exception cref="NotSupportedException">Set to true on a model that is not fp32.</exception>
    public bool UseTorchScript
    {
        get => _useTorchScript;
        set
        {
            if (value && DType != ScalarType.Float32)
            {
                throw new NotSupportedException($"The scripted blocks are fp32 only; this model is {DType}.");
            }

            if (value && !_useTorchScript)
            {
                _scripted?.Dispose();
                _scripted = null;
            }

            _useTorchScript = value;
        }
    }

    private ScriptedBlocks Scripted => _scripted ??= ScriptedBlocks.Compile(this);

    /// <summary>Cache slot of prelude layer <paramref name="layer"/>.</summary>
    public AttentionSlot PreludeSlot(int layer) => new(ModelStage.Prelude, layer, 0, Config.NLayersInPrelude, Config.NLayersInRecurrentBlock);

    /// <summary>Cache slot of core layer <paramref name="layer"/> at recurrence <paramref name="recurrence"/> (0-based).</summary>
    public AttentionSlot CoreSlot(int recurrence, int layer) => new(ModelStage.Core, layer, recurrence, Config.NLayersInPrelude, Config.NLayersInRecurrentBlock);

    /// <summary>Cache slot of coda layer <paramref name="layer"/> (reference index −1, −2, ...).</summary>
    public AttentionSlot CodaSlot(int layer) => new(ModelStage.Coda, layer, 0, Config.NLayersInPrelude, Config.NLayersInRecurrentBlock);

    /// <summary>Loads a checkpoint folder (<c>config.json</c> + single or sharded safetensors).</summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="options">Device and dtype choices; defaults: automatic device, bf16 on CUDA and fp32 on CPU.</param>
    /// <param name="progress">Receives one report per tensor loaded.</param>
    /// <exception cref="FileNotFoundException">The folder, config.json or a shard is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or a tensor is missing, unexpected or of the wrong shape.</exception>
    public static RavenModel Load(string folder, ModelLoadOptions? options = null, IProgress<ModelLoadProgress>? progress = null) =>
        ModelLoader.Load(folder, options ?? new ModelLoadOptions(), progress);

    /// <summary>Scaled token embeddings: wte[ids] · √n_embd. ids (B, S) int64 -> (B, S, h).</summary>
    /// <exception cref="ArgumentException">A token id is outside [0, vocab).</exception>
    public Tensor Embed(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.NumberOfElements > 0)
        {
            long min = ids.min().item<long>(), max = ids.max().item<long>();
            if (min < 0 || max >= Config.VocabSize)
            {
                throw new ArgumentException($"Token id {(min < 0 ? min : max)} is outside the vocabulary [0, {Config.VocabSize}).", nameof(ids));
            }
        }

        return EmbedChecked(ids);
    }

    /// <summary>As <see cref="Embed"/>, for ids already checked against the vocabulary (at admission, or sampled).</summary>
    internal Tensor EmbedChecked(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return (transformer.wte.forward(ids.to(Device)) * Config.EmbedScale).MoveToOuterDisposeScope();
    }

    /// <summary>Runs the prelude blocks on the scaled embeddings; the result e is injected into every recurrence.</summary>
    public Tensor RunPrelude(Tensor embeddings, AttentionContext context)
    {
        if (UseTorchScript)
        {
            return Scripted.RunPrelude(embeddings, context);
        }

        return RunBlocks(embeddings, transformer.prelude, PreludeSlot, context);
    }

    /// <summary>One recurrence: s ← core(adapter(concat[s, e])). State first, then the embedded input.</summary>
    /// <param name="state">Current latent state (B, S, h).</param>
    /// <param name="embedded">Prelude output e (B, S, h).</param>
    /// <param name="recurrence">0-based index of this recurrence; selects the cache slots.</param>
    /// <param name="context">Rotary angles, cache and mask of this call.</param>
    public Tensor Iterate(Tensor state, Tensor embedded, int recurrence, AttentionContext context)
    {
        if (UseTorchScript)
        {
            return Scripted.Iterate(state, embedded, recurrence, context);
        }

        using var scope = NewDisposeScope();
        var x = transformer.adapter.forward(cat([state, embedded], -1));
        for (int l = 0; l < Config.NLayersInRecurrentBlock; l++)
        {
            x = transformer.core_block[l].forward(x, context, CoreSlot(recurrence, l));
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The recurrence loop: <paramref name="steps"/> calls of <see cref="Iterate"/> from <paramref name="state"/>,
    /// recurrence indices <paramref name="firstRecurrence"/> onwards. <see cref="Forward"/>, the trainer (twice, for
    /// truncated backprop: the first steps under no_grad, the rest with gradient) and the effort evaluator all run
    /// this one loop, and so does generation when it is not scripted (<see cref="IterateSteps"/>).
    /// </summary>
    /// <param name="state">State before the first step (B, S, h).</param>
    /// <param name="embedded">Prelude output e (B, S, h).</param>
    /// <param name="context">Rotary angles, cache and mask of this call.</param>
    /// <param name="steps">Recurrences to run (0 returns <paramref name="state"/>).</param>
    /// <param name="firstRecurrence">0-based index of the first recurrence (selects cache slots).</param>
    /// <param name="afterStep">Sees each new raw state with its recurrence index; it may keep the tensor (the
    /// states are results in the caller's dispose scope) and must not dispose it.</param>
    /// <returns>The raw state after the last step, in the caller's dispose scope.</returns>
    public Tensor Recur(Tensor state, Tensor embedded, AttentionContext context, int steps, int firstRecurrence = 0, Action<int, Tensor>? afterStep = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        for (int i = firstRecurrence; i < firstRecurrence + steps; i++)
        {
            state = Iterate(state, embedded, i, context);
            afterStep?.Invoke(i, state);
        }

        return state;
    }

    /// <summary>
    /// <see cref="Recur"/> for generation over a batch store with per-row recurrences (steps 0 .. <paramref name="steps"/>
    /// − 1 of each row's own): one script call when scripted. Also returns the state before the last step
    /// (<paramref name="state"/> itself for one step), which a fixed-depth token's KL measurement reads out.
    /// </summary>
    internal (Tensor Last, Tensor Before) IterateSteps(Tensor state, Tensor embedded, int steps, AttentionContext context)
    {
        if (UseTorchScript && Scripted.IterateSteps(state, embedded, 0, steps, context) is { } scripted)
        {
            return scripted;
        }

        Tensor before = state, last = state;
        Recur(state, embedded, context, steps, afterStep: (_, s) => (before, last) = (last, s));
        return (last, before);
    }

    /// <summary>ln_f of a raw recurrent state: the reference's <c>latent_states</c>.</summary>
    public Tensor NormalizeLatent(Tensor state) => transformer.ln_f.forward(state);

    /// <summary>Logits from a normalised latent: coda → ln_f → tied head, returned in fp32 (B, S, vocab).</summary>
    public Tensor Readout(Tensor latent, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        return Head(RunCoda(latent, context)).MoveToOuterDisposeScope();
    }

    /// <summary>The coda blocks of <see cref="Readout"/> (B, S, h) -> (B, S, h); every position goes to the cache.</summary>
    internal Tensor RunCoda(Tensor latent, AttentionContext context)
    {
        if (UseTorchScript)
        {
            return Scripted.RunCoda(latent, context);
        }

        return RunBlocks(latent, transformer.coda, CodaSlot, context);
    }

    // The eager blocks of one stage in order, block l on cache slot slotOf(l).
    private static Tensor RunBlocks(Tensor x, TorchSharp.Modules.ModuleList<SandwichBlock> blocks, Func<int, AttentionSlot> slotOf, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        for (int l = 0; l < blocks.Count; l++)
        {
            x = blocks[l].forward(x, context, slotOf(l));
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="Readout"/> for generation: the coda over every position of the call (they all go to the cache), the
    /// head only on each row's position <paramref name="last"/>[r]. (n, vocab) fp32; one script call when scripted.
    /// </summary>
    internal Tensor ReadoutAt(Tensor state, long[] last, AttentionContext context)
    {
        if (UseTorchScript && Scripted.ReadoutAt(state, last, context) is { } logits)
        {
            return logits;
        }

        using var scope = NewDisposeScope();
        var coda = RunCoda(NormalizeLatent(state), context);
        var index = tensor(last, device: coda.device).view(last.Length, 1, 1).expand(last.Length, 1, coda.shape[2]);
        return Head(coda.gather(1, index).squeeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>The end of <see cref="Readout"/>: ln_f and the tied head, fp32 logits (…, vocab).</summary>
    internal Tensor Head(Tensor x)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(transformer.ln_f.forward(x), transformer.wte.Weight).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Builds the attention context for tokens at <paramref name="positions"/> ((S) or (B, S), int64).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A position is at or beyond the config's <c>block_size</c>.</exception>
    public AttentionContext CreateContext(Tensor positions, IKeyValueStore? cache = null, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(positions);
        if (positions.NumberOfElements > 0)
        {
            ThrowIfBeyondContext(positions.max().item<long>(), nameof(positions));
        }

        return new AttentionContext(Rotary.RotationFor(positions.to(Device)), cache, mask);
    }

    /// <summary>
    /// The rotation of <see cref="CreateContext"/> for positions (rows × S, row-major) the caller built on the host:
    /// checked there, so the hot path reads nothing back from the device.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A position is at or beyond the config's <c>block_size</c>.</exception>
    internal Tensor RotationAt(long[] positions, int rows)
    {
        if (positions.Length > 0)
        {
            ThrowIfBeyondContext(positions.Max(), nameof(positions));
        }

        using var scope = NewDisposeScope();
        return Rotary.RotationFor(tensor(positions, [rows, positions.Length / rows]).to(Device)).MoveToOuterDisposeScope();
    }

    private void ThrowIfBeyondContext(long maxPosition, string paramName)
    {
        if (maxPosition >= Config.BlockSize)
        {
            throw new ArgumentOutOfRangeException(paramName, maxPosition,
                $"Position {maxPosition} is beyond the model's context of {Config.BlockSize} tokens (config block_size).");
        }
    }

    /// <summary>Draws an initial state shaped like <paramref name="like"/> (see <see cref="InitialState"/>).</summary>
    public Tensor SampleInitialState(Tensor like, double initScale, Generator generator) =>
        InitialState.Sample(Config, like.shape, initScale, generator, DType, Device);

    /// <summary>
    /// The full forward pass of the reference: <c>model(input_ids, num_steps=numSteps)</c>.
    /// </summary>
    /// <param name="ids">Token ids (B, S), int64.</param>
    /// <param name="numSteps">Recurrence steps r ≥ 1.</param>
    /// <param name="initialState">s0 (B, S, h) to use instead of drawing one (parity runs feed the reference's).</param>
    /// <param name="initScale">Std multiplier for a drawn s0; 0 gives zeros. Ignored when <paramref name="initialState"/> is given.</param>
    /// <param name="generator">Generator for a drawn s0; a fresh randomly seeded one when null.</param>
    /// <param name="positions">Absolute positions (S) or (B, S); default 0 .. S − 1.</param>
    /// <param name="cache">Key/value store for incremental decoding; null for a self-contained causal pass.</param>
    /// <param name="recordTrajectory">Also return the raw state after every step.</param>
    public RavenOutput Forward(Tensor ids, int numSteps, Tensor? initialState = null, double initScale = 1.0, Generator? generator = null,
        Tensor? positions = null, IKeyValueStore? cache = null, bool recordTrajectory = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfLessThan(numSteps, 1);
        if (ids.dim() != 2)
        {
            throw new ArgumentException($"Token ids must be (batch, sequence); got shape [{string.Join(", ", ids.shape)}].", nameof(ids));
        }

        using var scope = NewDisposeScope();
        positions ??= arange(ids.shape[1], ScalarType.Int64);
        var context = CreateContext(positions, cache);
        var embedded = RunPrelude(Embed(ids), context);

        Tensor state;
        if (initialState is not null)
        {
            if (!initialState.shape.SequenceEqual(embedded.shape))
            {
                throw new ArgumentException(
                    $"Initial state has shape [{string.Join(", ", initialState.shape)}]; expected [{string.Join(", ", embedded.shape)}].", nameof(initialState));
            }

            state = initialState.to(DType, Device);
        }
        else
        {
            using var owned = generator is null ? new Generator((ulong)Random.Shared.NextInt64(), CPU) : null;
            state = SampleInitialState(embedded, initScale, generator ?? owned!);
        }

        var trajectory = recordTrajectory ? new List<Tensor>(numSteps) : null;
        state = Recur(state, embedded, context, numSteps, afterStep: trajectory is null ? null : (_, s) => trajectory.Add(s));

        var latent = NormalizeLatent(state);
        var logits = Readout(latent, context);
        var output = new RavenOutput
        {
            Logits = logits.MoveToOuterDisposeScope(),
            LatentStates = latent.MoveToOuterDisposeScope(),
            FinalState = state.MoveToOuterDisposeScope(),
            EmbeddedInput = embedded.MoveToOuterDisposeScope(),
            Trajectory = trajectory?.Select(t => t.MoveToOuterDisposeScope()).ToList(),
        };
        return output;
    }

    /// <summary>Parameters by checkpoint key (<c>transformer.core_block.2.attn.Wqkv.weight</c>, ...).</summary>
    public IReadOnlyDictionary<string, TorchSharp.Modules.Parameter> ParametersByKey() =>
        named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);

    /// <summary>Writes the weights as a single safetensors file in the reference layout (tied head stored once, as wte).</summary>
    public void SaveSafetensors(string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Write(path, named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter)), metadata);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Rotary.Dispose();
            _scripted?.Dispose();
        }

        base.Dispose(disposing);
    }
}
