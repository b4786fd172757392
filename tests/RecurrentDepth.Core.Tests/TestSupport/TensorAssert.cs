using static TorchSharp.torch;

namespace RecurrentDepth.Tests.TestSupport;

/// <summary>Comparisons that report the error they saw.</summary>
public static class TensorAssert
{
    /// <summary>Max |expected − actual| in float64; shapes must agree.</summary>
    public static double MaxAbsError(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}] differs from the reference's [{string.Join(", ", expected.shape)}].");
        using var scope = NewDisposeScope();
        return (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64).cpu()).abs().max().item<double>();
    }

    /// <summary>Same shape and every element equal (TorchSharp's Tensor.equal is element-wise, so it cannot say this).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    public static void Close(Tensor expected, Tensor actual, double atol, string what)
    {
        double err = MaxAbsError(expected, actual, what);
        Assert.True(err <= atol, $"{what}: max abs error {err:G3} exceeds {atol:G3}.");
    }
}
