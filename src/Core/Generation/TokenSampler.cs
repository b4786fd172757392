using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// Chooses one token from fp32 logits with <see cref="BatchSampler"/> (the engine samples whole batches at once;
/// this is the single-row form, which reads its result back to the host).
/// </summary>
public static class TokenSampler
{
    /// <summary>Picks a token id.</summary>
    /// <param name="logits">Next-token logits (vocab), fp32.</param>
    /// <param name="options">Validated sampling options.</param>
    /// <param name="history">Tokens so far (prompt and generated), for the repetition penalty.</param>
    /// <param name="generator">The request's generator; draws are reproducible for a seed.</param>
    public static int Sample(Tensor logits, SamplingOptions options, IReadOnlyList<int> history, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(generator);
        using var scope = NewDisposeScope();
        double u = options.IsGreedy ? 0 : DrawUniform(generator);
        var token = BatchSampler.Sample(logits.flatten().unsqueeze(0), [options], [history], [u]);
        return (int)token.cpu().data<long>()[0];
    }

    /// <summary>One uniform number in [0, 1) from <paramref name="generator"/> (a CPU generator).</summary>
    public static double DrawUniform(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        using var u = rand(1, ScalarType.Float64, generator: generator);
        return u.data<double>()[0];
    }
}
