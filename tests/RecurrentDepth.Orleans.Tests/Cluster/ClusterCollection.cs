namespace RecurrentDepth.Orleans.Tests.Cluster;

/// <summary>Tests that leave every silo running share one cluster (starting three silos is the slow part).</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<MicroCluster>
{
    public const string Name = "micro cluster";
}
