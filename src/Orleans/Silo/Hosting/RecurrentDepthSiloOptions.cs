namespace RecurrentDepth.Orleans.Hosting;

/// <summary>Settings of a recurrent-depth silo (configuration section <c>RecurrentDepth:Silo</c>).</summary>
public sealed class RecurrentDepthSiloOptions
{
    /// <summary>The configuration section: <c>RecurrentDepth:Silo</c>.</summary>
    public const string SectionName = "RecurrentDepth:Silo";

    /// <summary>
    /// Name of the grain storage provider that holds conversations: <c>recurrent-depth</c>. Register a provider under
    /// this name (<c>AddAdoNetGrainStorage</c>, <c>AddRedisGrainStorage</c>, ...); it must outlive any one silo for
    /// failover to keep conversations.
    /// </summary>
    public const string StorageProviderName = "recurrent-depth";

    /// <summary>How long placement waits for a silo's load report before leaving that silo out. Default 2 seconds.</summary>
    public TimeSpan LoadQueryTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Headroom difference (0..2; see <see cref="Placement.SiloLoadReport.Headroom"/>) under which silos count as equally
    /// free, so the one with fewer conversations wins. Default 0.05.
    /// </summary>
    public double HeadroomTolerance { get; set; } = 0.05;

    /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the setting.</summary>
    public RecurrentDepthSiloOptions Validate()
    {
        if (LoadQueryTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LoadQueryTimeout), LoadQueryTimeout, $"{SectionName}:LoadQueryTimeout must be positive.");
        }

        if (!(HeadroomTolerance >= 0 && HeadroomTolerance <= 2))
        {
            throw new ArgumentOutOfRangeException(nameof(HeadroomTolerance), HeadroomTolerance, $"{SectionName}:HeadroomTolerance must be between 0 and 2.");
        }

        return this;
    }
}
