using Orleans.Placement;

namespace RecurrentDepth.Orleans.Placement;

/// <summary>Marks a grain class to be placed by <see cref="HeadroomPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class HeadroomPlacementAttribute : PlacementAttribute
{
    /// <summary>Creates the attribute.</summary>
    public HeadroomPlacementAttribute() : base(HeadroomPlacementStrategy.Instance)
    {
    }
}
