using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// Where attention keys and values live between calls. The generation layer implements it (see <c>Caching</c>);
/// the model only asks it to store this call's entries for a slot and hand back what to attend over.
/// </summary>
public interface IKeyValueStore
{
    /// <summary>
    /// Stores the keys and values of this call's tokens for <paramref name="slot"/> and returns the keys and values
    /// to attend over (B, H, T, D), plus a mask (broadcastable to (B, H, S, T), true = attend) when the default
    /// causal rule is not enough (padding, holes left by early exit). A null mask means: causal, aligned so that the
    /// last query sees every key.
    /// </summary>
    /// <param name="slot">Prelude layer j: j. Core layer l at recurrence i: prelude + core·i + l. Coda layer c: −(c+1).</param>
    /// <param name="keys">This call's keys (B, H, S, D), after RoPE.</param>
    /// <param name="values">This call's values (B, H, S, D).</param>
    (Tensor Keys, Tensor Values, Tensor? Mask) Append(int slot, Tensor keys, Tensor values);
}

/// <summary>
/// Per-call inputs that every attention layer shares: the rotary angles of the new tokens, an optional key/value
/// store and an optional mask over this call's own tokens.
/// </summary>
/// <param name="Cos">cos of the new tokens' angles, (1 or B, S, 1, D/2), fp32.</param>
/// <param name="Sin">sin of the new tokens' angles, (1 or B, S, 1, D/2), fp32.</param>
/// <param name="Cache">Keys and values of earlier tokens; null for a stand-alone causal pass.</param>
/// <param name="Mask">Mask for a cache-less pass (broadcastable to (B, H, S, S), true = attend); null = causal.</param>
public sealed record AttentionContext(Tensor Cos, Tensor Sin, IKeyValueStore? Cache = null, Tensor? Mask = null);
