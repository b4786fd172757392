using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// Huginn's layer: four RMSNorms around attention and MLP.
/// <code>
/// x = norm_2(x + attn(norm_1(x)))
/// x = norm_4(x + mlp(norm_3(x)))
/// </code>
/// </summary>
public sealed class SandwichBlock : nn.Module
{
    private readonly RmsNorm norm_1;
    private readonly CausalSelfAttention attn;
    private readonly RmsNorm norm_2;
    private readonly GatedMlp mlp;
    private readonly RmsNorm norm_3;
    private readonly RmsNorm norm_4;

    /// <summary>Creates an uninitialised block (norm weights 1).</summary>
    public SandwichBlock(Configuration.RavenConfig config, ScalarType dtype, Device device) : base(nameof(SandwichBlock))
    {
        norm_1 = new RmsNorm(config.NEmbd, config.NormEps, dtype, device);
        attn = new CausalSelfAttention(config.NEmbd, config.NHeads, config.QkBias, dtype, device);
        norm_2 = new RmsNorm(config.NEmbd, config.NormEps, dtype, device);
        mlp = new GatedMlp(config.NEmbd, config.IntermediateSize, dtype, device);
        norm_3 = new RmsNorm(config.NEmbd, config.NormEps, dtype, device);
        norm_4 = new RmsNorm(config.NEmbd, config.NormEps, dtype, device);
        RegisterComponents();
    }

    /// <summary>x (B, S, h) -> (B, S, h); attention reads and writes cache slot <paramref name="slot"/>.</summary>
    public Tensor forward(Tensor x, AttentionContext context, AttentionSlot slot)
    {
        using var scope = NewDisposeScope();
        x = norm_2.forward(x + attn.forward(norm_1.forward(x), context, slot));
        x = norm_4.forward(x + mlp.forward(norm_3.forward(x)));
        return x.MoveToOuterDisposeScope();
    }
}
