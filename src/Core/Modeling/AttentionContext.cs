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
    /// <param name="slot">Which attention application this is (stage, layer, recurrence).</param>
    /// <param name="keys">This call's keys (B, H, S, D), after RoPE.</param>
    /// <param name="values">This call's values (B, H, S, D).</param>
    (Tensor Keys, Tensor Values, Tensor? Mask) Append(AttentionSlot slot, Tensor keys, Tensor values);
}

/// <summary>The three stages of a Huginn forward pass.</summary>
public enum ModelStage
{
    /// <summary>The prelude blocks, run once per token.</summary>
    Prelude,

    /// <summary>The recurrent core block, run once per recurrence.</summary>
    Core,

    /// <summary>The coda blocks, run once per readout.</summary>
    Coda,
}

/// <summary>
/// Identifies one attention application: stage, layer within the stage, and (for the core) the 0-based recurrence.
/// <see cref="Index"/> gives the reference's integer cache slot.
/// </summary>
/// <param name="Stage">Prelude, core or coda.</param>
/// <param name="Layer">Layer index within the stage.</param>
/// <param name="Recurrence">Recurrence index (core only; 0 otherwise).</param>
/// <param name="PreludeLayers">Prelude layer count of the model.</param>
/// <param name="CoreLayers">Core layer count of the model.</param>
public readonly record struct AttentionSlot(ModelStage Stage, int Layer, int Recurrence, int PreludeLayers, int CoreLayers)
{
    /// <summary>
    /// The reference's slot number: prelude layer j → j; core layer l at recurrence i → prelude + core·i + l;
    /// coda layer c → −(c+1).
    /// </summary>
    public int Index => Stage switch
    {
        ModelStage.Prelude => Layer,
        ModelStage.Core => PreludeLayers + CoreLayers * Recurrence + Layer,
        _ => -(Layer + 1),
    };

    /// <summary>The same layer at another recurrence (for stores that track depth per sequence).</summary>
    public AttentionSlot AtRecurrence(int recurrence) => this with { Recurrence = recurrence };
}

/// <summary>
/// Per-call inputs that every attention layer shares: the rotary angles of the new tokens, an optional key/value
/// store and an optional mask over this call's own tokens.
/// </summary>
/// <param name="Rotation">The new tokens' angles as e^(iθ), (1 or B, 1, S, D/2) complex64, gathered once per model
/// call (<see cref="RavenModel.CreateContext"/>).</param>
/// <param name="Cache">Keys and values of earlier tokens; null for a stand-alone causal pass.</param>
/// <param name="Mask">Mask for a cache-less pass (broadcastable to (B, H, S, S), true = attend); null = causal.</param>
public sealed record AttentionContext(Tensor Rotation, IKeyValueStore? Cache = null, Tensor? Mask = null);
