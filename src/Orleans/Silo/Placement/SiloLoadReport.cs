using RecurrentDepth.Engine;

namespace RecurrentDepth.Orleans.Placement;

/// <summary>
/// What a silo publishes for placement: its engine's load (<see cref="IInferenceEngine.CurrentLoad"/>) and how many
/// conversations it holds.
/// </summary>
[GenerateSerializer, Immutable, Alias("RecurrentDepth.Orleans.SiloLoadReport")]
public sealed record SiloLoadReport
{
    /// <summary>Whether the silo's engine is serving (<see cref="EngineState.Ready"/>) or still loading.</summary>
    [Id(0)]
    public bool Accepting { get; init; }

    /// <summary>Requests waiting for admission.</summary>
    [Id(1)]
    public int QueueLength { get; init; }

    /// <summary>Most requests that may wait.</summary>
    [Id(2)]
    public int QueueCapacity { get; init; }

    /// <summary>Sequences being decoded.</summary>
    [Id(3)]
    public int ActiveSequences { get; init; }

    /// <summary>KV-pool blocks in total (0: the engine has no pool yet).</summary>
    [Id(4)]
    public int KvBlocksTotal { get; init; }

    /// <summary>KV-pool blocks free for new sequences.</summary>
    [Id(5)]
    public int KvBlocksFree { get; init; }

    /// <summary>Conversation grains active on the silo.</summary>
    [Id(6)]
    public int Conversations { get; init; }

    /// <summary>Share (0..1) of the KV pool that is free; 1 when the engine reports no pool.</summary>
    public double FreeKvShare => KvBlocksTotal > 0 ? Math.Clamp((double)KvBlocksFree / KvBlocksTotal, 0, 1) : 1;

    /// <summary>Work in hand (queued and decoding sequences) per queue slot: 0 idle, 1 or more when the queue is full.</summary>
    public double QueuePressure => (double)(QueueLength + ActiveSequences) / Math.Max(1, QueueCapacity);

    /// <summary>Headroom: <see cref="FreeKvShare"/> − <see cref="QueuePressure"/> (higher is better; at most 1).</summary>
    public double Headroom => FreeKvShare - QueuePressure;

    /// <summary>The report of an engine's <paramref name="load"/> with <paramref name="conversations"/> resident.</summary>
    public static SiloLoadReport From(EngineState state, EngineLoad load, int conversations)
    {
        ArgumentNullException.ThrowIfNull(load);
        return new SiloLoadReport
        {
            Accepting = state == EngineState.Ready,
            QueueLength = load.QueueLength,
            QueueCapacity = load.QueueCapacity,
            ActiveSequences = load.ActiveSequences,
            KvBlocksTotal = load.KvBlocksTotal,
            KvBlocksFree = load.KvBlocksFree,
            Conversations = conversations,
        };
    }
}
