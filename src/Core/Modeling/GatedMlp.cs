using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>SwiGLU MLP: <c>proj</c>(SiLU(gate) · up), with gate | up fused in one <c>fc</c> projection.</summary>
public sealed class GatedMlp : nn.Module<Tensor, Tensor>
{
    private readonly BiasFreeLinear fc;
    private readonly BiasFreeLinear proj;

    /// <summary>Creates an uninitialised MLP.</summary>
    public GatedMlp(int nEmbd, int intermediate, ScalarType dtype, Device device) : base(nameof(GatedMlp))
    {
        fc = new BiasFreeLinear(nEmbd, 2L * intermediate, dtype, device);
        proj = new BiasFreeLinear(intermediate, nEmbd, dtype, device);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        // No dispose scope of its own: the results land in the caller's (the block's) scope.
        var gateUp = fc.forward(x).chunk(2, -1); // rows 0..I-1 gate, I..2I-1 up
        return proj.forward(nn.functional.silu(gateUp[0]) * gateUp[1]);
    }
}
