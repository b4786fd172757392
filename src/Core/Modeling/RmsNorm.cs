using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// RMSNorm with a learned scale (<c>RMSNorm_llama</c>): x · rsqrt(mean(x²) + eps) · weight. TorchSharp 0.107 has
/// none built in.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;
    private readonly bool _fp32;

    /// <summary>Creates a norm over the last dimension of width <paramref name="dim"/>, weight initialised to 1.</summary>
    public RmsNorm(long dim, double eps, ScalarType dtype, Device device) : base(nameof(RmsNorm))
    {
        _eps = eps;
        _fp32 = dtype == ScalarType.Float32;
        weight = new Parameter(ones([dim], dtype, device), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>The learned scale [dim].</summary>
    public Parameter Weight => weight;

    /// <inheritdoc />
    /// <remarks>Six tensor calls in fp32 (eight otherwise, the two casts); no dispose scope of its own: the results
    /// land in the caller's (the block's) scope.</remarks>
    public override Tensor forward(Tensor x)
    {
        // The reference normalises in fp32 with autocast off, casts back, then scales in the model dtype.
        var x32 = _fp32 ? x : x.to(ScalarType.Float32);
        var normed = x32 * (x32.square().mean([-1], keepdim: true) + _eps).rsqrt();
        return (_fp32 ? normed : normed.to(x.dtype)) * weight;
    }
}
