using RecurrentDepth.Caching;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// The sandwich blocks of every stage (prelude, core step = adapter + core blocks, coda) with their tensor work
/// compiled to TorchScript at run time (<c>torch.jit.compile</c>, run by libtorch's interpreter). Same arithmetic as
/// the eager blocks (fp32 only); the ops benchmark measures it against them and it is the faster on CPU, so fp32
/// models run it (<see cref="RavenModel.UseTorchScript"/>); see docs/performance.md.
/// </summary>
/// <remarks>
/// Over a <see cref="BatchAttentionStore"/> (generation), the host resolves every layer's pool entries and masks once
/// per call (<see cref="BatchAttentionStore.PrepareLayers"/>) and a whole stage is one script call, attention and
/// the pool's <c>index_copy_</c>/<c>index_select</c> included. Without one (a plain forward pass, the trainer) each
/// block is two script calls around C# attention (<see cref="CausalSelfAttention.Attend"/>).
/// </remarks>
public sealed partial class ScriptedBlocks : IDisposable
{
    private const int TensorsPerBlock = 9;

    private readonly RavenModel _model;
    private readonly jit.CompilationUnit _unit;
    private readonly Tensor _adapter;
    private readonly Tensor _lnF;
    private readonly Tensor _wte;
    private readonly Tensor[] _prelude;
    private readonly Tensor[] _core;
    private readonly Tensor[] _coda;
    private readonly List<Tensor> _biases = []; // each block's qkv_bias, owned here

    // Scalar arguments are passed as Scalars this object keeps alive: TorchSharp turns a plain long or double into a
    // temporary Scalar whose handle the collector may free before the call reads it (seen as "toLong" failures).
    private readonly Scalar _heads;

    // The norms' width and eps as 0-dim tensors on the model's device (see rms in the script).
    private readonly Tensor _width;
    private readonly Tensor _eps;

    private ScriptedBlocks(RavenModel model)
    {
        _model = model;
        var p = model.ParametersByKey();
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        var linear = p.Values.Any(w => w.numel() >= TallSkinnyElements) ? TallSkinnyLinear.Replace("TALL_SKINNY", TallSkinnyElements.ToString(invariant)) : PlainLinear;
        _unit = jit.compile(Source
            .Replace("LINEAR_FUNCTION", linear)
            .Replace("BLOCK_SIZE", KvBlockPool.BlockSize.ToString(invariant)) + "\n"); // the parser wants the last line ended
        _adapter = p["transformer.adapter.weight"];
        _lnF = p["transformer.ln_f.weight"];
        _wte = p["transformer.wte.weight"];
        var c = model.Config;
        // Owned for the object's lifetime, whatever dispose scope it is built in (it may be built on first use).
        using (var scope = NewDisposeScope())
        {
            _heads = ((long)c.NHeads).ToScalar();
            _width = tensor((float)c.NEmbd, ScalarType.Float32, model.Device);
            _eps = tensor((float)c.NormEps, ScalarType.Float32, model.Device);
            scope.Detach(_heads);
            scope.Detach(_width, _eps);
        }

        Tensor[] Stage(string name, int layers) => Enumerable.Range(0, layers).SelectMany(l =>
        {
            string key = $"transformer.{name}.{l}.";
            return new[]
            {
                p[key + "norm_1.weight"], p[key + "attn.Wqkv.weight"], QkvBias(p.GetValueOrDefault(key + "attn.qk_bias")),
                p[key + "attn.proj.weight"], p[key + "norm_2.weight"], p[key + "norm_3.weight"], p[key + "mlp.fc.weight"],
                p[key + "mlp.proj.weight"], p[key + "norm_4.weight"],
            };
        }).ToArray();

        _prelude = Stage("prelude", c.NLayersInPrelude);
        _core = Stage("core_block", c.NLayersInRecurrentBlock);
        _coda = Stage("coda", c.NLayersInCoda);
    }

    // [q bias, k bias, 0 for v] in the projection's (3, H, D) output order, from a (2, 1, H, D) qk_bias (zeros without one).
    private Tensor QkvBias(Tensor? qkBias)
    {
        var c = _model.Config;
        long width = (long)c.NHeads * c.HeadDim;
        using var scope = NewDisposeScope();
        var bias = qkBias is null
            ? zeros([3 * width], _model.DType, _model.Device)
            : cat([qkBias.reshape(-1), zeros([width], qkBias.dtype, qkBias.device)]);
        scope.Detach(bias);
        _biases.Add(bias);
        return bias;
    }

    /// <summary>Compiles the script for <paramref name="model"/>'s blocks (weights are shared, not copied; only the small fused Q/K/V biases are derived copies, see <see cref="RavenModel.UseTorchScript"/>).</summary>
    /// <exception cref="NotSupportedException">The model is not fp32 (the script has no bf16/fp16 casts).</exception>
    public static ScriptedBlocks Compile(RavenModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.DType != ScalarType.Float32)
        {
            throw new NotSupportedException($"The scripted blocks are fp32 only; the model is {model.DType}.");
        }

        return new ScriptedBlocks(model);
    }

    /// <summary>As <see cref="RavenModel.RunPrelude"/>: the prelude blocks on the scaled embeddings.</summary>
    public Tensor RunPrelude(Tensor embeddings, AttentionContext context) =>
        Run(embeddings, null, _prelude, _model.PreludeSlot, context);

    /// <summary>As <see cref="RavenModel.Iterate"/>: s ← core(adapter(concat[s, e])).</summary>
    public Tensor Iterate(Tensor state, Tensor embedded, int recurrence, AttentionContext context)
    {
        if (IterateSteps(state, embedded, recurrence, 1, context) is { } pooled)
        {
            pooled.Before.Dispose(); // for one step, a second handle on the input state
            return pooled.Last;
        }

        return Run(state, embedded, _core, l => _model.CoreSlot(recurrence, l), context);
    }

    /// <summary>
    /// <paramref name="steps"/> core steps over a <see cref="BatchAttentionStore"/> in one script call, the first at
    /// <paramref name="firstRecurrence"/> (relative to each row's own with per-row recurrences): the last state and
    /// the one before it (the input state when <paramref name="steps"/> is 1). Null without such a store.
    /// </summary>
    public (Tensor Last, Tensor Before)? IterateSteps(Tensor state, Tensor embedded, int firstRecurrence, int steps, AttentionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        if (context.Cache is not BatchAttentionStore store)
        {
            return null;
        }

        using var scope = NewDisposeScope();
        int layers = _core.Length / TensorsPerBlock;
        var slots = Enumerable.Range(0, steps * layers).Select(i => _model.CoreSlot(firstRecurrence + i / layers, i % layers)).ToArray();
        using var count = ((long)steps).ToScalar();
        var (last, before) = InvokePooled<(Tensor, Tensor)>("core_steps", [state, embedded, _adapter, count], _core, slots, state, context.Rotation, store);
        return (last.MoveToOuterDisposeScope(), before.MoveToOuterDisposeScope());
    }

    /// <summary>The coda blocks of <see cref="RavenModel.Readout"/> (before its ln_f and head).</summary>
    public Tensor RunCoda(Tensor latent, AttentionContext context) =>
        Run(latent, null, _coda, _model.CodaSlot, context);

    /// <summary>
    /// As <see cref="RavenModel.Readout"/> over a <see cref="BatchAttentionStore"/>, for each row's position
    /// <paramref name="last"/>[r] only: (n, vocab) fp32 logits in one script call. Null without such a store (the
    /// caller then runs the coda and head as separate calls).
    /// </summary>
    public Tensor? ReadoutAt(Tensor state, long[] last, AttentionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Cache is not BatchAttentionStore store)
        {
            return null;
        }

        using var scope = NewDisposeScope();
        return InvokePooled<Tensor>("readout", [state, _lnF, _wte, tensor(last, device: state.device)], _coda, SlotsOf(_coda, _model.CodaSlot), state,
            context.Rotation, store).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _unit.Dispose();
        foreach (var bias in _biases)
        {
            bias.Dispose();
        }

        _heads.Dispose();
        _width.Dispose();
        _eps.Dispose();
    }

    // Calls a script function over the pool: its own leading arguments, then the stage's weights, the rotation, the
    // pool metadata of every layer the call runs (`slots`, resolved once here) and the scalars, as every such function
    // takes them.
    private T InvokePooled<T>(string function, object[] leading, Tensor[] weights, AttentionSlot[] slots, Tensor x, Tensor rotation,
        BatchAttentionStore store)
    {
        var pooled = store.PrepareLayers(slots, (int)x.shape[1], x.device);
        using var blockLength = ((long)pooled.BlockReadLength).ToScalar();
        object[] arguments = [.. leading, weights, rotation, pooled.Storage, pooled.Writes, pooled.Reads, pooled.Masks, blockLength, _heads, _width, _eps];
        return _unit.invoke<T>(function, arguments);
    }

    private static AttentionSlot[] SlotsOf(Tensor[] weights, Func<int, AttentionSlot> slotOf) =>
        Enumerable.Range(0, weights.Length / TensorsPerBlock).Select(slotOf).ToArray();

    // With `embedded` the call is a core step (adapter first). Returns the result in the caller's dispose scope.
    private Tensor Run(Tensor x, Tensor? embedded, Tensor[] weights, Func<int, AttentionSlot> slotOf, AttentionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var scope = NewDisposeScope();
        var rotation = context.Rotation;
        int layers = weights.Length / TensorsPerBlock;
        // Over a pool, a core step goes through IterateSteps (see Iterate); the prelude and coda are one call here.
        if (embedded is null && context.Cache is BatchAttentionStore store)
        {
            return InvokePooled<Tensor>("blocks", [x], weights, SlotsOf(weights, slotOf), x, rotation, store).MoveToOuterDisposeScope();
        }

        if (embedded is not null)
        {
            x = nn.functional.linear(cat([x, embedded], -1), _adapter);
        }

        for (int l = 0; l < layers; l++)
        {
            var w = weights.AsSpan(l * TensorsPerBlock, TensorsPerBlock);
            var (q, k, v) = _unit.invoke<(Tensor, Tensor, Tensor)>("pre_attention", x, w[0], w[1], w[2], rotation, _heads, _width, _eps);
            var y = CausalSelfAttention.Attend(q, k, v, context, slotOf(l));
            x = _unit.invoke<Tensor>("post_attention", x, y, w[3], w[4], w[5], w[6], w[7], w[8], _width, _eps);
        }

        return x.MoveToOuterDisposeScope();
    }
}
