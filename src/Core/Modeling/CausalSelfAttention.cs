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
    /// <remarks>
    /// Q, K and V go straight into attention's (B, H, S, D) layout with one view and one permute, and Q and K get their
    /// bias and RoPE together, as one (2, B, H, S, D) tensor in the complex form. No dispose scope of its own: the
    /// results land in the caller's (the block's) scope.
    /// </remarks>
    public Tensor forward(Tensor x, AttentionContext context, AttentionSlot slot)
    {
        long b = x.shape[0], s = x.shape[1];
        // (B, S, 3h) -> (3, B, H, S, D): rows of Wqkv are Q | K | V, each head-major (head·D + d).
        var qkv = Wqkv.forward(x).view(b, s, 3, _heads, _headDim).permute(2, 0, 3, 1, 4);
        var qk = qkv.narrow(0, 0, 2);
        if (qk_bias is not null)
        {
            qk = qk + qk_bias.unsqueeze(3); // [2, 1, H, D] -> [2, 1, H, 1, D]: added before RoPE
        }

        var rotated = RotaryEmbedding.Rotate(qk, context.Rotation).unbind(0);
        var (q, k, v) = (rotated[0], rotated[1], qkv[2]);

        var y = Attend(q, k, v, context, slot);
        y = y.transpose(1, 2).reshape(b, s, _heads * _headDim); // (B, H, S, D) -> (B, S, h)
        return proj.forward(y);
    }

    /// <summary>
    /// Scaled dot-product attention of this call's queries over the cache's keys and values (after storing this
    /// call's) or, without a cache, over this call's own: q, k, v (B, H, S, D) -> (B, H, S, D). Shared by the eager
    /// layer and <see cref="ScriptedBlocks"/>.
    /// </summary>
    internal static Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionContext context, AttentionSlot slot)
    {
        long s = q.shape[2];
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
            var lowerRight = ones([s, t], ScalarType.Bool, q.device).tril(t - s);
            y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: lowerRight);
        }

        return y;
    }
}
