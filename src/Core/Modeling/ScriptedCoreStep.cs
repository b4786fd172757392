using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// The core step (<see cref="RavenModel.Iterate"/>: adapter, then the core's sandwich blocks) with each block's tensor
/// work compiled to TorchScript at run time (<c>torch.jit.compile</c>, run by libtorch's interpreter), so that a block
/// is two script calls plus attention instead of ~50 eager calls. Attention itself stays in C#
/// (<see cref="CausalSelfAttention.Attend"/>), because the key/value store is C#. Same arithmetic as the eager
/// blocks (fp32 only). The ops benchmark measures it against the eager step: it is the faster of the two on CPU, so
/// fp32 models run it (<see cref="RavenModel.ScriptedCore"/>); see docs/performance.md.
/// </summary>
public sealed class ScriptedCoreStep : IDisposable
{
    // x: (B, S, h). Returns q, k, v in attention's (B, H, S, D) layout, q and k biased and rotated (complex form).
    private const string Source = """
        def rms(x: Tensor, w: Tensor, eps: float) -> Tensor:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

        def pre_attention(x: Tensor, norm_1: Tensor, wqkv: Tensor, qk_bias: Tensor, rotation: Tensor, heads: int, eps: float) -> Tuple[Tensor, Tensor, Tensor]:
            b = x.size(0)
            s = x.size(1)
            qkv = torch.linear(rms(x, norm_1, eps), wqkv).view(b, s, 3, heads, -1).permute(2, 0, 3, 1, 4)
            qk = qkv[:2] + qk_bias.unsqueeze(3)
            d = qk.size(-1)
            qk = torch.view_as_real(torch.view_as_complex(qk.unflatten(-1, [d // 2, 2])) * rotation).flatten(-2)
            return qk[0], qk[1], qkv[2]

        def post_attention(x: Tensor, y: Tensor, proj: Tensor, norm_2: Tensor, norm_3: Tensor, fc: Tensor, mlp_proj: Tensor, norm_4: Tensor, eps: float) -> Tensor:
            b = x.size(0)
            s = x.size(1)
            x = rms(x + torch.linear(y.transpose(1, 2).reshape(b, s, -1), proj), norm_2, eps)
            gate_up = torch.linear(rms(x, norm_3, eps), fc).chunk(2, -1)
            return rms(x + torch.linear(torch.silu(gate_up[0]) * gate_up[1], mlp_proj), norm_4, eps)
        """;

    private readonly RavenModel _model;
    private readonly jit.CompilationUnit _unit;
    private readonly Tensor _adapter;
    private readonly Block[] _blocks;
    private readonly Tensor? _zeroBias;

    // Scalar arguments are passed as Scalars this object keeps alive: TorchSharp turns a plain long or double into a
    // temporary Scalar whose handle the collector may free before the call reads it (seen as "toLong" failures).
    private readonly Scalar _heads;
    private readonly Scalar _eps;

    private sealed record Block(Tensor Norm1, Tensor Wqkv, Tensor QkBias, Tensor Proj, Tensor Norm2, Tensor Norm3, Tensor Fc, Tensor MlpProj, Tensor Norm4);

    private ScriptedCoreStep(RavenModel model)
    {
        _model = model;
        _unit = jit.compile(Source + "\n"); // the parser wants the last line ended
        var p = model.ParametersByKey();
        _adapter = p["transformer.adapter.weight"];
        var c = model.Config;
        // Owned for the object's lifetime, whatever dispose scope it is built in (it may be built on first use).
        using (var scope = NewDisposeScope())
        {
            _heads = ((long)c.NHeads).ToScalar();
            _eps = c.NormEps.ToScalar();
            scope.Detach(_heads);
            scope.Detach(_eps);
            if (!p.ContainsKey("transformer.core_block.0.attn.qk_bias"))
            {
                _zeroBias = zeros([2, 1, c.NHeads, c.HeadDim], model.DType, model.Device);
                scope.Detach(_zeroBias);
            }
        }

        _blocks = Enumerable.Range(0, c.NLayersInRecurrentBlock).Select(l =>
        {
            string key = $"transformer.core_block.{l}.";
            return new Block(p[key + "norm_1.weight"], p[key + "attn.Wqkv.weight"],
                p.TryGetValue(key + "attn.qk_bias", out var bias) ? bias : _zeroBias!, p[key + "attn.proj.weight"],
                p[key + "norm_2.weight"], p[key + "norm_3.weight"], p[key + "mlp.fc.weight"], p[key + "mlp.proj.weight"], p[key + "norm_4.weight"]);
        }).ToArray();
    }

    /// <summary>Compiles the script for <paramref name="model"/>'s core blocks (weights are shared, not copied).</summary>
    /// <exception cref="NotSupportedException">The model is not fp32 (the script has no bf16/fp16 casts).</exception>
    public static ScriptedCoreStep Compile(RavenModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.DType != ScalarType.Float32)
        {
            throw new NotSupportedException($"The scripted core step is fp32 only; the model is {model.DType}.");
        }

        return new ScriptedCoreStep(model);
    }

    /// <summary>As <see cref="RavenModel.Iterate"/>: s ← core(adapter(concat[s, e])).</summary>
    public Tensor Iterate(Tensor state, Tensor embedded, int recurrence, AttentionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var scope = NewDisposeScope();
        var rotation = context.Rotation ?? complex(context.Cos, context.Sin).transpose(1, 2);
        var x = nn.functional.linear(cat([state, embedded], -1), _adapter);
        for (int l = 0; l < _blocks.Length; l++)
        {
            var w = _blocks[l];
            var (q, k, v) = _unit.invoke<(Tensor, Tensor, Tensor)>("pre_attention", x, w.Norm1, w.Wqkv, w.QkBias, rotation, _heads, _eps);
            var y = CausalSelfAttention.Attend(q, k, v, context, _model.CoreSlot(recurrence, l));
            x = _unit.invoke<Tensor>("post_attention", x, y, w.Proj, w.Norm2, w.Norm3, w.Fc, w.MlpProj, w.Norm4, _eps);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _unit.Dispose();
        _zeroBias?.Dispose();
        _heads.Dispose();
        _eps.Dispose();
    }
}
