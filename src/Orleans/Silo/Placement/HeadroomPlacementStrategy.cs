namespace RecurrentDepth.Orleans.Placement;

/// <summary>
/// Places a new activation on the compatible silo with the most engine headroom (free KV blocks, short queue; see
/// <see cref="HeadroomRanking"/>), as reported by each silo's engine. Existing activations are never moved.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("RecurrentDepth.Orleans.HeadroomPlacementStrategy")]
public sealed class HeadroomPlacementStrategy : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static HeadroomPlacementStrategy Instance { get; } = new();
}
