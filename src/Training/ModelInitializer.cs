using RecurrentDepth.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Training;

/// <summary>
/// The reference initialisation (<c>init_strategy: takase</c>, as the HF <c>_init_weights</c> runs it): every
/// projection and the embedding from a normal truncated at ±3σ with σ = √(2/(5·n_embd)); the output projections
/// (<c>attn.proj</c>, <c>mlp.proj</c> and the "up" half of <c>mlp.fc</c>) with σ/√(2·effective_expected_depth);
/// RMSNorm weights 1; <c>qk_bias</c> 0. Leaves every parameter trainable.
/// </summary>
public static class ModelInitializer
{
    /// <summary>Initialises <paramref name="model"/> in place from <paramref name="generator"/> and sets requires_grad.</summary>
    public static void Initialize(RavenModel model, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(generator);
        var config = model.Config;
        double std = config.InitStd;
        double outStd = std / Math.Sqrt(2.0 * config.EffectiveExpectedDepth);
        using (no_grad())
        {
            // Order by key so that the draws do not depend on registration order.
            foreach (var (name, p) in model.ParametersByKey().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                using var scope = NewDisposeScope();
                if (name.EndsWith("qk_bias", StringComparison.Ordinal))
                {
                    p.zero_();
                }
                else if (name.Contains("norm", StringComparison.Ordinal) || name.EndsWith("ln_f.weight", StringComparison.Ordinal))
                {
                    p.fill_(1.0);
                }
                else if (name.EndsWith("mlp.fc.weight", StringComparison.Ordinal))
                {
                    long half = p.shape[0] / 2; // rows 0..I-1 gate (std), I..2I-1 up (out_proj std)
                    p[..(int)half].copy_(TruncatedNormal([half, p.shape[1]], std, generator));
                    p[(int)half..].copy_(TruncatedNormal([p.shape[0] - half, p.shape[1]], outStd, generator));
                }
                else if (name.EndsWith("attn.proj.weight", StringComparison.Ordinal) || name.EndsWith("mlp.proj.weight", StringComparison.Ordinal))
                {
                    p.copy_(TruncatedNormal(p.shape, outStd, generator));
                }
                else
                {
                    p.copy_(TruncatedNormal(p.shape, std, generator)); // wte (tied head), Wqkv, adapter
                }
            }
        }

        foreach (var p in model.parameters())
        {
            p.requires_grad = true;
        }
    }

    /// <summary>Normal(0, std) truncated at ±3·std by inverse-CDF sampling (as torch's trunc_normal_), fp32 on the CPU.</summary>
    public static Tensor TruncatedNormal(long[] shape, double std, Generator generator)
    {
        using var scope = NewDisposeScope();
        return (InitialState.StandardTruncatedNormal(shape, generator) * std).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
