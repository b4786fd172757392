using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RecurrentDepth.Engine;
using RecurrentDepth.Orleans.Hosting;
using RecurrentDepth.Orleans.Placement;

namespace RecurrentDepth.Orleans.Conversations;

/// <summary>The conversation grain: see <see cref="IConversationGrain"/>.</summary>
[HeadroomPlacement]
internal sealed class ConversationGrain(
    [PersistentState("conversation", RecurrentDepthSiloOptions.StorageProviderName)] IPersistentState<ConversationState> state,
    IInferenceEngine engine,
    ILocalSiloDetails silo,
    SiloConversations residents,
    IHostApplicationLifetime lifetime,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain
{
    private readonly string _silo = silo.SiloAddress.ToString();
    private bool _turnRunning;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        residents.Activated();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        residents.Deactivated();
        return Task.CompletedTask;
    }

    public Task<ConversationSnapshot> GetSnapshotAsync() =>
        Task.FromResult(new ConversationSnapshot(state.State.Messages.ToArray(), _silo, state.State.CompletedTurns));

    public async IAsyncEnumerable<ConversationUpdate> RunTurnAsync(ConversationTurn turn, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(turn);
        string id = this.GetPrimaryKeyString();
        if (_turnRunning)
        {
            // Grain calls of a stream interleave, so two turns could otherwise both append to one history.
            throw new ConversationBusyException(id);
        }

        _turnRunning = true;
        // A silo that is stopping cancels its turns at once: the engine would otherwise drain them, for answers that a
        // deactivating grain could no longer store or send.
        using var turnCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            var history = ConversationHistory.Merge(state.State.Messages, turn.NewMessages);
            var request = turn.Settings with { Messages = history.Select(m => m.ToTurn()).ToArray(), Prompt = null, PromptTokens = null };
            var answer = new StringBuilder();
            await using var updates = engine.GenerateAsync(request, turnCts.Token).GetAsyncEnumerator(turnCts.Token);
            while (true)
            {
                GenerationUpdate update;
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(true))
                    {
                        break;
                    }

                    update = updates.Current;
                }
                catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new SiloStoppingException(id, _silo);
                }

                answer.Append(update.TextDelta);
                if (update.Summary is { } summary)
                {
                    // Store before the caller sees the end: a caller that got the summary may rely on the turn being kept.
                    if (summary.FinishReason == FinishReason.Cancelled && lifetime.ApplicationStopping.IsCancellationRequested)
                    {
                        throw new SiloStoppingException(id, _silo);
                    }

                    if (summary.FinishReason != FinishReason.Cancelled)
                    {
                        await StoreAsync(history, answer.ToString()).ConfigureAwait(true);
                        logger.LogDebug("Conversation {Conversation} turn {Turn} answered on {Silo}: {Input} prompt tokens, {Cached} from the cache.",
                            id, state.State.CompletedTurns, _silo, summary.InputTokens, summary.CachedInputTokens);
                    }
                }

                yield return new ConversationUpdate(update, _silo);
            }
        }
        finally
        {
            _turnRunning = false;
        }
    }

    private async Task StoreAsync(IReadOnlyList<ConversationMessage> history, string answer)
    {
        var previous = (state.State.Messages, state.State.CompletedTurns, state.State.LastSilo);
        state.State.Messages = [.. history, new ConversationMessage("assistant", answer)];
        state.State.CompletedTurns++;
        state.State.LastSilo = _silo;
        try
        {
            await state.WriteStateAsync().ConfigureAwait(true);
        }
        catch
        {
            // A turn that could not be stored did not happen: keep memory equal to the store so a retry starts clean.
            (state.State.Messages, state.State.CompletedTurns, state.State.LastSilo) = previous;
            throw;
        }
    }
}
