namespace RecurrentDepth.Training;

/// <summary>
/// The paper's per-step recurrence count: r = Poisson(λ) + 1 with log λ ~ N(log(mean) − σ²/2, σ), σ = 0.5, so that
/// E[λ] = mean; and the truncated-backprop split: the first max(r − k, 0) steps run without gradient.
/// </summary>
public static class DepthSampler
{
    /// <summary>σ of the log-normal rate.</summary>
    public const double Sigma = 0.5;

    /// <summary>Draws r ≥ 1 for a mean depth <paramref name="meanDepth"/>.</summary>
    public static int Sample(Random random, double meanDepth)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(meanDepth);
        double tau = Math.Log(meanDepth) - Sigma * Sigma / 2 + Sigma * StandardNormal(random);
        return Poisson(random, Math.Exp(tau)) + 1;
    }

    /// <summary>Steps without gradient and with gradient for a draw r and backprop depth k.</summary>
    public static (int NoGrad, int WithGrad) Split(int r, int backpropDepth) => (Math.Max(r - backpropDepth, 0), Math.Min(r, backpropDepth));

    private static double StandardNormal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble(); // Box–Muller; u1 in (0, 1]
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static int Poisson(Random random, double lambda)
    {
        // Knuth's multiplication method; λ stays small here (mean depth ~8, tail < 100).
        if (lambda > 500)
        {
            return (int)Math.Round(lambda);
        }

        double limit = Math.Exp(-lambda), product = random.NextDouble();
        int n = 0;
        while (product > limit)
        {
            n++;
            product *= random.NextDouble();
        }

        return n;
    }
}
