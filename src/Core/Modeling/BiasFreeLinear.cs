using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// y = x·Wᵀ with no bias: every projection in Huginn. Its one parameter is <c>weight</c> [out, in], as in the
/// checkpoint. Storage is allocated uninitialised in the requested dtype and device, so building a 3.5B-parameter
/// model costs no random-init time and no fp32 detour before the checkpoint is copied in.
/// </summary>
public sealed class BiasFreeLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    /// <summary>Creates an uninitialised projection.</summary>
    public BiasFreeLinear(long inFeatures, long outFeatures, ScalarType dtype, Device device) : base(nameof(BiasFreeLinear))
    {
        weight = new Parameter(empty([outFeatures, inFeatures], dtype, device), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>The weight matrix [out, in].</summary>
    public Parameter Weight => weight;

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => nn.functional.linear(input, weight);
}
