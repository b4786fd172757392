using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using RecurrentDepth.Orleans.Conversations;

namespace RecurrentDepth.Orleans.Client;

/// <summary>
/// Runs turns of conversations on the cluster: the low-level surface under <see cref="ClusterChatClient"/>. Each
/// conversation is a grain keyed by its id; its first turn places it on the silo with the most headroom, later turns go
/// to the same silo while it lives. A turn whose silo goes away ends with <see cref="ConversationInterruptedException"/>
/// within <see cref="RecurrentDepthClusterOptions.TurnStallTimeout"/> of the last update.
/// </summary>
public sealed class ConversationClient
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;

    /// <summary>Creates a client over <paramref name="grains"/> (an <c>IClusterClient</c>, or a silo's own grain factory).</summary>
    /// <param name="grains">The cluster.</param>
    /// <param name="options">Client settings.</param>
    /// <param name="time">Clock of the stall timeout; null uses the system clock.</param>
    public ConversationClient(IGrainFactory grains, IOptions<RecurrentDepthClusterOptions> options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(options);
        _grains = grains;
        Options = options.Value.Validate();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The client settings.</summary>
    public RecurrentDepthClusterOptions Options { get; }

    /// <summary>The stored messages of <paramref name="conversationId"/> and the silo it is active on (activating it if needed).</summary>
    public Task<ConversationSnapshot> GetSnapshotAsync(string conversationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        return _grains.GetGrain<IConversationGrain>(conversationId).GetSnapshotAsync();
    }

    /// <summary>Streams one turn of <paramref name="conversationId"/> (see <see cref="IConversationGrain.RunTurnAsync"/>).</summary>
    /// <exception cref="ConversationInterruptedException">The answering silo went away or stopped answering.</exception>
    /// <exception cref="ConversationBusyException">Another turn of the conversation is streaming.</exception>
    public async IAsyncEnumerable<ConversationUpdate> RunTurnAsync(string conversationId, ConversationTurn turn, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ArgumentNullException.ThrowIfNull(turn);
        var grain = _grains.GetGrain<IConversationGrain>(conversationId);
        var stream = grain.RunTurnAsync(turn, cancellationToken).GetAsyncEnumerator(cancellationToken);
        int received = 0;
        string? silo = null;
        bool abandoned = false;
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await NextAsync(stream, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsInterruption(ex, cancellationToken))
                {
                    abandoned = ex is TimeoutException;
                    throw new ConversationInterruptedException(conversationId, silo, received, Describe(ex), ex);
                }

                if (!more)
                {
                    yield break;
                }

                received++;
                silo = stream.Current.Silo;
                yield return stream.Current;
            }
        }
        finally
        {
            if (abandoned)
            {
                // The stalled call may never complete; release the grain's enumerator without waiting on it.
                _ = stream.DisposeAsync().AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            }
            else
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> NextAsync(IAsyncEnumerator<ConversationUpdate> stream, CancellationToken cancellationToken)
    {
        var next = stream.MoveNextAsync().AsTask();
        var stall = Options.TurnStallTimeout;
        if (stall == Timeout.InfiniteTimeSpan)
        {
            return await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await next.WaitAsync(stall, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!next.IsCompleted)
        {
            throw new TurnStalledException();
        }
    }

    /// <summary>Our own deadline passed (as opposed to a timeout Orleans reported).</summary>
    private sealed class TurnStalledException : TimeoutException;

    private static bool IsInterruption(Exception error, CancellationToken callerToken) => error switch
    {
        OperationCanceledException => !callerToken.IsCancellationRequested,
        SiloStoppingException or TimeoutException or EnumerationAbortedException or SiloUnavailableException or OrleansMessageRejectionException => true,
        OrleansException => true,
        _ => false,
    };

    private string Describe(Exception error) => error switch
    {
        TurnStalledException =>
            $"no update arrived within RecurrentDepth:Cluster:TurnStallTimeout ({Options.TurnStallTimeout})",
        EnumerationAbortedException => "the conversation's activation went away while it was streaming (its silo stopped or died)",
        SiloUnavailableException => "the silo is unavailable (it stopped or died)",
        SiloStoppingException => "the silo began shutting down and cancelled the turn",
        _ => $"{error.GetType().Name}: {error.Message}",
    };
}
