using Xunit.Abstractions;
using Microsoft.Extensions.AI;

namespace RecurrentDepth.Orleans.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class PlacementTests(MicroCluster cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task Thirty_new_conversations_spread_over_all_three_silos_with_none_holding_more_than_half()
    {
        var silos = new List<string>();
        for (int i = 0; i < 30; i++)
        {
            var response = await cluster.Chat.GetResponseAsync([new ChatMessage(ChatRole.User, $"{i % 10}+3=")], new ChatOptions { MaxOutputTokens = 2 });
            silos.Add(AffinityTests.Silo(response));
        }

        var perSilo = silos.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"Conversations per silo: {string.Join(", ", perSilo)}");
        Assert.Equal(3, perSilo.Count);
        Assert.All(perSilo, p => Assert.True(p.Value <= 15, $"Silo {p.Key} got {p.Value} of 30 conversations: {string.Join(", ", perSilo)}."));
    }
}
