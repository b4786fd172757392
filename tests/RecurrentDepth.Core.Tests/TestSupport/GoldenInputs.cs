using RecurrentDepth.Checkpoints;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.TestSupport;

/// <summary>The tiny fixture's forward inputs (input_ids and the reference s0), for tests that compare two models.</summary>
public static class GoldenInputs
{
    /// <summary>Logits (B, S, vocab) of <paramref name="model"/> on the fixture's input_ids and fwd.s0 after <paramref name="steps"/> steps.</summary>
    public static Tensor Logits(RavenModel model, int steps)
    {
        using var golden = SafetensorsFile.Open(Path.Combine(FixtureCatalog.Tiny, "golden.safetensors"));
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var ids = golden.Read("input_ids");
        var s0 = golden.Read("fwd.s0");
        using var output = model.Forward(ids, steps, initialState: s0);
        return output.Logits.clone().MoveToOuterDisposeScope();
    }
}
