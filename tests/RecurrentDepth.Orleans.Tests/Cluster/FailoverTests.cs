using Xunit.Abstractions;
using Microsoft.Extensions.AI;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Orleans.Client;
using RecurrentDepth.Orleans.Conversations;

namespace RecurrentDepth.Orleans.Tests.Cluster;

/// <summary>Each test stops a silo, so each gets a cluster of its own.</summary>
public sealed class FailoverTests : IAsyncLifetime
{
    // A bound on every wait of these tests: a hang fails them by cancellation, never by a measured duration.
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);
    private readonly MicroCluster _cluster = new();
    private readonly ITestOutputHelper _output;

    public FailoverTests(ITestOutputHelper output) => _output = output;

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task Stopping_a_silo_loses_no_conversation_and_its_next_turn_is_answered_elsewhere_as_a_fresh_single_host_would()
    {
        using var bound = new CancellationTokenSource(Bound);
        var (conversationId, silo) = await StartOnSecondarySiloAsync(["3+7*9+3=", "9*3+7="], bound.Token);

        await _cluster.Cluster.StopSiloAsync(_cluster.Silo(silo));
        var next = await _cluster.Chat.GetResponseAsync([new ChatMessage(ChatRole.User, "7+9*3=")], new ChatOptions { ConversationId = conversationId }, bound.Token);

        Assert.NotEqual(silo, AffinityTests.Silo(next));
        var stored = await _cluster.Conversations.GetSnapshotAsync(conversationId);
        Assert.Equal(3, stored.CompletedTurns);
        var history = stored.Messages.Take(5).Select(m => new ChatMessage(new ChatRole(m.Role), m.Content)).ToList();
        Assert.Equal(["user", "assistant", "user", "assistant", "user"], history.Select(m => m.Role.Value));
        var fresh = await _cluster.Reference.GetResponseAsync(history, cancellationToken: bound.Token);
        Assert.Equal(fresh.Text, next.Text);
        Assert.Equal(next.Text, stored.Messages[^1].Content);
    }

    [Fact]
    public async Task A_turn_streaming_on_a_stopped_silo_ends_with_an_interruption_error_and_retrying_it_works()
    {
        using var bound = new CancellationTokenSource(Bound);
        var (conversationId, silo) = await StartOnSecondarySiloAsync(["3+7="], bound.Token);
        // Long enough that it is still streaming when the silo stops: the pieces are pulled one call at a time.
        var longTurn = new ConversationTurn([new ConversationMessage("user", "9*3+7*9=")],
            new GenerationRequest { Depth = DepthPolicy.Fixed(32), MaxNewTokens = 800, IgnoreEndOfTurn = true });

        int received = 0;
        var error = await Assert.ThrowsAsync<ConversationInterruptedException>(async () =>
        {
            await foreach (var update in _cluster.Conversations.RunTurnAsync(conversationId, longTurn, bound.Token))
            {
                Assert.Equal(silo, update.Silo);
                Assert.Null(update.Update.Summary);
                if (++received == 1)
                {
                    await _cluster.Cluster.StopSiloAsync(_cluster.Silo(silo));
                }
            }
        });

        _output.WriteLine(error.Message);
        Assert.False(bound.IsCancellationRequested, "The interrupted turn did not end before the test's bound.");
        Assert.Equal(conversationId, error.ConversationId);
        Assert.Equal(1, (await _cluster.Conversations.GetSnapshotAsync(conversationId)).CompletedTurns);

        var retry = longTurn with { Settings = longTurn.Settings with { MaxNewTokens = 4 } };
        var updates = new List<ConversationUpdate>();
        await foreach (var update in _cluster.Conversations.RunTurnAsync(conversationId, retry, bound.Token))
        {
            updates.Add(update);
        }

        Assert.NotEqual(silo, updates[^1].Silo);
        Assert.Equal(4, updates[^1].Update.Summary!.OutputTokens);
        var stored = await _cluster.Conversations.GetSnapshotAsync(conversationId);
        Assert.Equal(2, stored.CompletedTurns);
        Assert.Equal(["3+7=", "9*3+7*9="], stored.Messages.Where(m => m.Role == "user").Select(m => m.Content));
    }

    [Fact]
    public async Task A_killed_silo_loses_no_conversation_and_a_turn_streaming_on_it_ends_with_an_interruption_error()
    {
        using var bound = new CancellationTokenSource(Bound);
        var (conversationId, silo) = await StartOnSecondarySiloAsync(["3+7="], bound.Token);
        var longTurn = new ConversationTurn([new ConversationMessage("user", "9*3+7*9=")],
            new GenerationRequest { Depth = DepthPolicy.Fixed(32), MaxNewTokens = 800, IgnoreEndOfTurn = true });

        var error = await Assert.ThrowsAsync<ConversationInterruptedException>(async () =>
        {
            int received = 0;
            await foreach (var update in _cluster.Conversations.RunTurnAsync(conversationId, longTurn, bound.Token))
            {
                if (++received == 1)
                {
                    await _cluster.Cluster.KillSiloAsync(_cluster.Silo(silo));
                }
            }
        });
        _output.WriteLine(error.Message);
        Assert.Equal(silo, error.Silo);

        var next = await _cluster.Chat.GetResponseAsync([new ChatMessage(ChatRole.User, "7+9*3=")], new ChatOptions { ConversationId = conversationId }, bound.Token);

        Assert.False(bound.IsCancellationRequested, "The test's bound passed.");
        Assert.NotEqual(silo, AffinityTests.Silo(next));
        Assert.Equal(2, (await _cluster.Conversations.GetSnapshotAsync(conversationId)).CompletedTurns);
    }

    /// <summary>Starts conversations until one lands on a secondary silo (the primary holds the test membership and stays up).</summary>
    private async Task<(string ConversationId, string Silo)> StartOnSecondarySiloAsync(string[] turns, CancellationToken cancellationToken)
    {
        var secondaries = _cluster.SecondarySilos();
        for (int attempt = 0; attempt < 6; attempt++)
        {
            var responses = await AffinityTests.RunConversationAsync(_cluster.Chat, turns, cancellationToken: cancellationToken);
            string silo = AffinityTests.Silo(responses[0]);
            if (secondaries.Contains(silo))
            {
                return (responses[0].ConversationId!, silo);
            }
        }

        throw new InvalidOperationException("Six new conversations were all placed on the primary silo: placement does not spread.");
    }
}
