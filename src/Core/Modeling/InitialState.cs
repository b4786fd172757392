using RecurrentDepth.Configuration;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// Draws the initial latent state s0 from the reference distribution: a normal of std
/// √(2/(5·n_embd))·initScale truncated at ±3σ (exact inverse-CDF sampling, as torch's <c>trunc_normal_</c>), times
/// the embedding scale √n_embd. Draws come from a caller-owned generator, never from global RNG.
/// </summary>
public static class InitialState
{
    // Φ(−3) and Φ(3), the standard normal CDF at the truncation bounds.
    private const double LowerCdf = 0.0013498980316300946;
    private const double UpperCdf = 0.9986501019683699;

    /// <summary>Samples s0 of the given shape.</summary>
    /// <param name="config">Model configuration (width and init std).</param>
    /// <param name="shape">Usually (B, S, n_embd).</param>
    /// <param name="initScale">Multiplier on the std; 0 gives the deterministic zero state.</param>
    /// <param name="generator">CPU generator owned by the request; draws are reproducible for a seed on any device.</param>
    /// <param name="dtype">Result dtype.</param>
    /// <param name="device">Result device.</param>
    public static Tensor Sample(RavenConfig config, long[] shape, double initScale, Generator generator, ScalarType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegative(initScale);
        if (initScale == 0)
        {
            return zeros(shape, dtype, device);
        }

        using var scope = NewDisposeScope();
        double std = config.InitStd * initScale;
        var s0 = StandardTruncatedNormal(shape, generator).mul_(std * config.EmbedScale);
        return s0.to(dtype, device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Standard normal draws truncated at ±3 by exact inverse-CDF sampling, as torch's <c>trunc_normal_</c>: float64 on
    /// the CPU. Multiply by σ for a normal truncated at ±3σ (the reference's initial state and weight init).
    /// </summary>
    public static Tensor StandardTruncatedNormal(long[] shape, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(generator);
        using var scope = NewDisposeScope();
        // u ~ U(Φ(-3), Φ(3)) -> Φ⁻¹(u) = √2·erfinv(2u − 1), clamped as torch does against rounding at the bounds. In
        // place: one allocation instead of eight (this runs once per generated token).
        var u = rand(shape, ScalarType.Float64, CPU, generator: generator).mul_(UpperCdf - LowerCdf).add_(LowerCdf);
        return u.mul_(2).sub_(1).erfinv_().mul_(Math.Sqrt(2.0)).clamp_(-3.0, 3.0).MoveToOuterDisposeScope();
    }
}
