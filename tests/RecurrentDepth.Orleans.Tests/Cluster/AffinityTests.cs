using Microsoft.Extensions.AI;
using RecurrentDepth.Orleans.Client;

namespace RecurrentDepth.Orleans.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class AffinityTests(MicroCluster cluster)
{
    private static readonly string[] Problems = ["3+7*9+3=", "9*3+7=", "7+9*3*7+3="];

    [Fact]
    public async Task Every_turn_of_a_conversation_is_served_by_the_silo_that_served_its_first_turn()
    {
        var turns = await RunConversationAsync(cluster.Chat, Problems);

        string first = Silo(turns[0]);
        Assert.Contains(first, cluster.Cluster.Silos.Select(s => s.SiloAddress.ToString()));
        Assert.All(turns, t => Assert.Equal(first, Silo(t)));
        Assert.All(turns, t => Assert.Equal(turns[0].ConversationId, t.ConversationId));
        var stored = await cluster.Conversations.GetSnapshotAsync(turns[0].ConversationId!);
        Assert.Equal(first, stored.Silo);
        Assert.Equal(Problems.Length, stored.CompletedTurns);
        Assert.Equal(2 * Problems.Length, stored.Messages.Count);
    }

    [Fact]
    public async Task A_conversation_answers_each_turn_as_a_single_host_given_the_whole_history()
    {
        var turns = await RunConversationAsync(cluster.Chat, Problems);

        var history = new List<ChatMessage>();
        for (int i = 0; i < Problems.Length; i++)
        {
            history.Add(new ChatMessage(ChatRole.User, Problems[i]));
            var expected = await cluster.Reference.GetResponseAsync(history);
            Assert.Equal(expected.Text, turns[i].Text);
            history.Add(new ChatMessage(ChatRole.Assistant, expected.Text));
        }
    }

    /// <summary>Runs <paramref name="problems"/> as turns of one conversation, sending only each new message.</summary>
    internal static async Task<List<ChatResponse>> RunConversationAsync(
        IChatClient chat, IEnumerable<string> problems, string? conversationId = null, CancellationToken cancellationToken = default)
    {
        var responses = new List<ChatResponse>();
        foreach (string problem in problems)
        {
            var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, problem)], new ChatOptions { ConversationId = conversationId }, cancellationToken);
            conversationId = response.ConversationId;
            Assert.False(string.IsNullOrEmpty(conversationId));
            responses.Add(response);
        }

        return responses;
    }

    internal static string Silo(ChatResponse response) => Assert.IsType<string>(response.AdditionalProperties?[ClusterMetadataKeys.Silo]);
}
