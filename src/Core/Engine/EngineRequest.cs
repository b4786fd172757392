using System.Diagnostics;
using System.Threading.Channels;
using RecurrentDepth.Generation;

namespace RecurrentDepth.Engine;

/// <summary>What the engine core tells a request when its sequence ends (besides the token ids streamed before).</summary>
/// <param name="Reason">Why the sequence ended (a stop token, the length limit, a stop string the output side asked for, cancellation).</param>
/// <param name="PromptTokens">Prompt tokens of the sequence.</param>
/// <param name="CachedInputTokens">Prompt tokens whose keys and values were reused from the prefix cache.</param>
/// <param name="KvCacheBytes">Key/value bytes written (all slots) when it ended.</param>
/// <param name="KvBytesPerToken">Key/value bytes per cached position.</param>
/// <param name="Elapsed">Time from admission to the end.</param>
internal sealed record SequenceOutcome(FinishReason Reason, int PromptTokens, int CachedInputTokens, long KvCacheBytes, double KvBytesPerToken, TimeSpan Elapsed);

/// <summary>
/// One request between the caller's thread and the engine core: the prepared options, the stream of token-id events
/// the core writes (then one <see cref="SequenceOutcome"/>), and the caller's wishes (cancel, stop after N tokens).
/// </summary>
internal sealed class EngineRequest(GenerationRequest request, PreparedRequest prepared)
{
    private int _stopAfter = -1;

    public GenerationRequest Request { get; } = request;

    public SequenceOptions Options { get; } = prepared.Options;

    /// <summary>Key/value bytes reserved against the engine's budget while the request runs.</summary>
    public long ReservedBytes { get; } = prepared.ReservedBytes;

    /// <summary>Token ids as they are produced, then the outcome; completed (with the error, if any) when done.</summary>
    public Channel<(GeneratedToken? Token, SequenceOutcome? Outcome)> Events { get; } =
        Channel.CreateUnbounded<(GeneratedToken?, SequenceOutcome?)>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });

    /// <summary>Runs from admission to the end (read on the engine thread only).</summary>
    public Stopwatch Clock { get; } = new();

    /// <summary>Set by the caller: drop the sequence and fail the stream with <see cref="OperationCanceledException"/>.</summary>
    public volatile bool CancelRequested;

    /// <summary>Whether the stream was completed (by the core or at the door).</summary>
    public bool Done { get; private set; }

    /// <summary>
    /// Set by the output side when a stop string matched at generated token <c>n</c> (1-based): the core ends the
    /// sequence as if it had stopped there, forgetting any tokens it generated after. −1 while not set.
    /// </summary>
    public int StopAfter => Volatile.Read(ref _stopAfter);

    public void RequestStop(int generatedTokens) => Volatile.Write(ref _stopAfter, generatedTokens);

    public void Finish(Exception? error)
    {
        Done = true;
        Events.Writer.TryComplete(error);
    }
}
