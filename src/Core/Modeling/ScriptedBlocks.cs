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
public sealed class ScriptedBlocks : IDisposable
{
    // x: (B, S, h). q, k, v come out in attention's (B, H, S, D) layout, q and k biased and rotated (complex form).
    // Weights of a stage are one list, 9 per block: norm_1, Wqkv, qkv_bias, proj, norm_2, norm_3, fc, mlp.proj, norm_4.
    // qkv_bias is the checkpoint's qk_bias flattened, with zeros for v: the projection then adds it itself (the same
    // bits as adding it after, one op fewer per block).
    private const string Source = """
        # RMSNorm as the eager RmsNorm computes it: libtorch's CPU rms_norm is a composite of 8 kernels and 6 allocations
        # (two no-op casts, an out-of-place add and rsqrt), slower per norm at this size. The mean is written as the sum
        # and division that CPU mean runs (bitwise the same), and width and eps are 0-dim tensors: an op with a number
        # operand wraps it in a new tensor first, which costs about as much as the op itself here.
        def rms(x: Tensor, w: Tensor, width: Tensor, eps: Tensor) -> Tensor:
            return (x * (x * x).sum(-1, keepdim=True).div_(width).add_(eps).rsqrt_()).mul_(w)

        # lin(x, w, b): torch.linear, or in models with large weights its two-row tall-skinny form (TallSkinnyLinear).
        LINEAR_FUNCTION

        def pre_attention(x: Tensor, norm_1: Tensor, wqkv: Tensor, qkv_bias: Tensor, rotation: Tensor, heads: int, width: Tensor, eps: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
            b = x.size(0)
            s = x.size(1)
            qkv = lin(rms(x, norm_1, width, eps), wqkv, qkv_bias).view(b, s, 3, heads, -1).permute(2, 0, 3, 1, 4)
            qk = qkv[:2]
            d = qk.size(-1)
            qk = torch.view_as_real(torch.view_as_complex(qk.unflatten(-1, [d // 2, 2])) * rotation).flatten(-2)
            return qk[0], qk[1], qkv[2]

        def post_attention(x: Tensor, y: Tensor, proj: Tensor, norm_2: Tensor, norm_3: Tensor, fc: Tensor, mlp_proj: Tensor, norm_4: Tensor, width: Tensor, eps: Tensor) -> Tensor:
            b = x.size(0)
            s = x.size(1)
            x = rms(x + lin(y.transpose(1, 2).reshape(b, s, -1), proj), norm_2, width, eps)
            gate_up = lin(rms(x, norm_3, width, eps), fc).chunk(2, -1)
            return rms(x + lin(torch.silu(gate_up[0]) * gate_up[1], mlp_proj), norm_4, width, eps)

        # block_length > 0: reads are whole pool blocks and every row's keys are the first block_length positions of them.
        def pooled_attention(q: Tensor, k: Tensor, v: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, mask: Tensor, block_length: int) -> Tensor:
            b = q.size(0)
            h = q.size(1)
            d = q.size(3)
            storage.index_copy_(0, writes, torch.stack([k.transpose(1, 2), v.transpose(1, 2)], 2).view(-1, 2, h, d))
            if block_length > 0:
                kv = storage.view(-1, BLOCK_SIZE, 2, h, d).index_select(0, reads).view(b, -1, 2, h, d).narrow(1, 0, block_length)
            else:
                kv = storage.index_select(0, reads).view(b, reads.size(0) // b, 2, h, d)
            kv = kv.permute(2, 0, 3, 1, 4)
            if mask.numel() == 0:
                return torch.scaled_dot_product_attention(q, kv[0], kv[1], None, 0.0, q.size(2) > 1)
            return torch.scaled_dot_product_attention(q, kv[0], kv[1], mask, 0.0, False)

        # The blocks of weights (9 tensors each) over the pool, their metadata at layer first + i of writes/reads/masks.
        def layers(x: Tensor, weights: List[Tensor], first: int, rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tensor:
            for i in range(len(weights) // 9):
                o = 9 * i
                l = first + i
                q, k, v = pre_attention(x, weights[o], weights[o + 1], weights[o + 2], rotation, heads, width, eps)
                mask = masks
                if masks.numel() > 0:
                    mask = masks[l]
                y = pooled_attention(q, k, v, storage, writes[l], reads[l], mask, block_length)
                x = post_attention(x, y, weights[o + 3], weights[o + 4], weights[o + 5], weights[o + 6], weights[o + 7], weights[o + 8], width, eps)
            return x

        def blocks(x: Tensor, weights: List[Tensor], rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tensor:
            return layers(x, weights, 0, rotation, storage, writes, reads, masks, block_length, heads, width, eps)

        # A readout over the pool: ln_f, the coda, then ln_f and the tied head on each row's position last[r] only.
        def readout(state: Tensor, ln_f: Tensor, wte: Tensor, last: Tensor, weights: List[Tensor], rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tensor:
            x = blocks(rms(state, ln_f, width, eps), weights, rotation, storage, writes, reads, masks, block_length, heads, width, eps)
            x = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)
            return lin(rms(x, ln_f, width, eps), wte)

        # `steps` core steps (adapter, then the core blocks, whose metadata step j reads at layers j·n .. j·n + n − 1):
        # the last state and the one before it.
        def core_steps(state: Tensor, embedded: Tensor, adapter: Tensor, steps: int, weights: List[Tensor], rotation: Tensor, storage: Tensor, writes: Tensor, reads: Tensor, masks: Tensor, block_length: int, heads: int, width: Tensor, eps: Tensor) -> Tuple[Tensor, Tensor]:
            n = len(weights) // 9
            before = state
            for j in range(steps):
                before = state
                x = lin(torch.cat([state, embedded], -1), adapter)
                state = layers(x, weights, j * n, rotation, storage, writes, reads, masks, block_length, heads, width, eps)
            return state, before
        """;

    private const int TensorsPerBlock = 9;

    // `lin` is torch.linear, except in models with a weight of at least TallSkinnyElements (8 MB in fp32, past the
    // CPU caches): there two rows in all (a fixed-depth token's last and second-to-last states read out together, or
    // a batch of two) run as w @ xᵀ. On the CPU, MKL's two-row x @ wᵀ streams the weight once per row, the tall-skinny
    // form once: huginn-mid's 32768 × 1024 head takes 6.9 ms for two rows against 15.8 (one row: 6.8). Small models
    // get the plain form, without the per-call shape test.
    private const long TallSkinnyElements = 1L << 21;

    private const string PlainLinear = """
        def lin(x: Tensor, w: Tensor, b: Optional[Tensor] = None) -> Tensor:
            return torch.linear(x, w, b)
        """;

    private const string TallSkinnyLinear = """
        def lin(x: Tensor, w: Tensor, b: Optional[Tensor] = None) -> Tensor:
            if x.numel() == 2 * x.size(-1) and w.numel() >= TALL_SKINNY:
                y = torch.matmul(w, x.reshape(2, -1).t()).t()
                if b is not None:
                    y = y + b
                return y.contiguous().view(x.size()[:-1] + [w.size(0)])
            return torch.linear(x, w, b)
        """;

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
        // The parser wants the last line ended.
        var p = model.ParametersByKey();
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        var linear = p.Values.Any(w => w.numel() >= TallSkinnyElements) ? TallSkinnyLinear.Replace("TALL_SKINNY", TallSkinnyElements.ToString(invariant)) : PlainLinear;
        _unit = jit.compile(Source
            .Replace("LINEAR_FUNCTION", linear)
            .Replace("BLOCK_SIZE", KvBlockPool.BlockSize.ToString(invariant)) + "\n");
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
