using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.TestSupport;

/// <summary>Initial recurrent states for tests that drive the model directly.</summary>
public static class TestStates
{
    /// <summary>A seeded random s0 of <paramref name="length"/> positions, (1, length, n_embd), init scale 1.</summary>
    public static Tensor RandomS0(RavenModel model, int length, ulong seed)
    {
        using var generator = new Generator(seed, CPU);
        return model.SampleInitialState(zeros([1, length, model.Config.NEmbd]), 1.0, generator);
    }
}
