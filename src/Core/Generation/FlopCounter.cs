using RecurrentDepth.Configuration;

namespace RecurrentDepth.Generation;

/// <summary>
/// Forward FLOPs of the dense work per token (2 × multiply-accumulates of every weight touched), the figure users
/// see as "effective FLOPs". Attention score work, which grows with context, is left out.
/// </summary>
public static class FlopCounter
{
    /// <summary>Weights of one sandwich block: Wqkv, proj, fused fc and MLP proj (norms and qk_bias are negligible).</summary>
    public static double BlockWeights(RavenConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        double h = config.NEmbd, inner = config.IntermediateSize;
        return 4 * h * h + 3 * h * inner;
    }

    /// <summary>FLOPs for one token that ran <paramref name="steps"/> recurrences and <paramref name="readouts"/> coda+head passes.</summary>
    public static double PerToken(RavenConfig config, int steps, int readouts = 1)
    {
        ArgumentNullException.ThrowIfNull(config);
        double block = BlockWeights(config);
        double h = config.NEmbd;
        double prelude = config.NLayersInPrelude * block;
        double recurrence = config.NLayersInRecurrentBlock * block + 2 * h * h;
        double readout = config.NLayersInCoda * block + config.VocabSize * h;
        return 2 * (prelude + steps * recurrence + readouts * readout);
    }
}
