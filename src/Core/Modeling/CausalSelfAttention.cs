using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// Multi-head causal self-attention with a fused <c>Wqkv</c> projection, a learned additive <c>qk_bias</c>
/// (added before RoPE), interleaved-pair RoPE and an output projection <c>proj</c>. Scale 1/√head_dim.
/// </summary>
public sealed class CausalSelfAttention : nn.Module
{
    private readonly BiasFreeLinear Wqkv;
    private readonly Parameter? qk_bias;
    private readonly BiasFreeLinear proj;
    private readonly int _heads;
    private readonly int _headDim;

    /// <summary>Creates an uninitialised attention layer.</summary>
    public CausalSelfAttention(int nEmbd, int heads, bool qkBias, ScalarType dtype, Device device) : base(nameof(CausalSelfAttention))
    {
        _heads = heads;
        _headDim = nEmbd / heads;
        Wqkv = new BiasFreeLinear(nEmbd, 3L * nEmbd, dtype, device);
        qk_bias = qkBias ? new Parameter(zeros([2, 1, heads, _headDim], dtype, device), requires_grad: false) : null;
        proj = new BiasFreeLinear(nEmbd, nEmbd, dtype, device);
        RegisterComponents();
    }

    /// <summary>x (B, S, h) -> (B, S, h), writing this call's keys/values into <paramref name="slot"/> of the cache.</summary>
    public Tensor forward(Tensor x, AttentionContext context, AttentionSlot slot)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], s = x.shape[1];
        var qkv = Wqkv.forward(x).chunk(3, -1); // rows: Q | K | V, each head-major (head·D + d)
        var q = qkv[0].view(b, s, _heads, _headDim);
        var k = qkv[1].view(b, s, _heads, _headDim);
        var v = qkv[2].view(b, s, _heads, _headDim);
        if (qk_bias is not null)
        {
            q = q + qk_bias[0];
            k = k + qk_bias[1];
        }

        q = RotaryEmbedding.Apply(q, context.Cos, context.Sin).transpose(1, 2); // (B, S, H, D) -> (B, H, S, D)
        k = RotaryEmbedding.Apply(k, context.Cos, context.Sin).transpose(1, 2);
        v = v.transpose(1, 2);

        Tensor? mask = context.Mask;
        if (context.Cache is { } cache)
        {
            (k, v, mask) = cache.Append(slot, k, v);
        }

        long t = k.shape[2];
        Tensor y;
        if (mask is not null)
        {
            y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        }
        else if (s == 1)
        {
            y = nn.functional.scaled_dot_product_attention(q, k, v);
        }
        else if (s == t)
        {
            y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        }
        else
        {
            // A chunk against a longer cache: query i sees keys up to t − s + i (causal, bottom-right aligned).
            var lowerRight = ones([s, t], ScalarType.Bool, x.device).tril(t - s);
            y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: lowerRight);
        }

        y = y.transpose(1, 2).reshape(b, s, _heads * _headDim); // (B, H, S, D) -> (B, S, h)
        return proj.forward(y).MoveToOuterDisposeScope();
    }
}
