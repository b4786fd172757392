using RecurrentDepth.Orleans.Client;

namespace RecurrentDepth.Orleans.Tests.Unit;

public sealed class AssemblyBoundaryTests
{
    [Fact]
    public void The_cluster_client_assembly_needs_neither_the_model_core_nor_TorchSharp()
    {
        var references = typeof(ClusterChatClient).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToArray();

        Assert.Contains("RecurrentDepth.Abstractions", references);
        Assert.DoesNotContain("RecurrentDepth.Core", references);
        Assert.DoesNotContain("TorchSharp", references);
        Assert.DoesNotContain("Orleans.Runtime", references);
    }
}
