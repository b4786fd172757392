using System.Text.Json.Serialization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// How much latent compute the model spends per token. Higher effort lets the model iterate its recurrent block more
/// times per token (instead of writing chain-of-thought). Each value maps to an <see cref="EffortProfile"/> through
/// <see cref="EffortProfiles"/>; the defaults follow the paper's accuracy-vs-depth results.
/// </summary>
/// <remarks>
/// In settings and JSON the values are written <c>none</c>, <c>low</c>, <c>medium</c>, <c>high</c>, <c>xhigh</c> and
/// <c>adaptive</c>; <c>minimal</c>, <c>extra_high</c> and <c>extrahigh</c> are accepted too
/// (see <see cref="ThinkingEffortNames"/>).
/// </remarks>
[JsonConverter(typeof(ThinkingEffortJsonConverter))]
public enum ThinkingEffort
{
    /// <summary>4 steps per token, no early exit: coarse and cheapest. Also what <c>minimal</c> means.</summary>
    None,

    /// <summary>8 steps per token, no early exit: easy tasks saturate near 8.</summary>
    Low,

    /// <summary>Up to 16 steps per token, exit when KL &lt; 5e-4: most of the accuracy at half the cost.</summary>
    Medium,

    /// <summary>Up to 32 steps per token, exit when KL &lt; 5e-4: the checkpoint's trained mean depth.</summary>
    High,

    /// <summary>Up to 64 steps per token, exit when KL &lt; 5e-4: math and code keep improving to 64.</summary>
    ExtraHigh,

    /// <summary>Up to 64 steps per token, at least 4, exit when KL &lt; 5e-4: spend only what each token needs.</summary>
    Adaptive,
}
