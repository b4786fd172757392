using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace RecurrentDepth.Orleans.Tests.Cluster;

/// <summary>
/// A grain storage provider that outlives any one silo, as Redis or SQL would: the in-process silos of a test cluster
/// share one store (Orleans' memory provider keeps state in grains, which die with their silo). State is kept as
/// serialized bytes, so no silo shares an object with another.
/// </summary>
internal sealed class SharedGrainStorage(SharedGrainStore store, Serializer serializer) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (store.Entries.TryGetValue(Key(stateName, grainId), out var entry))
        {
            grainState.State = serializer.Deserialize<T>(entry.Bytes);
            grainState.ETag = entry.ETag;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string key = Key(stateName, grainId);
        var written = new SharedGrainStore.Entry(serializer.SerializeToArray(grainState.State), Guid.NewGuid().ToString("N"));
        store.Entries.AddOrUpdate(key, written, (_, current) => current.ETag == grainState.ETag
            ? written
            : throw new InconsistentStateException($"ETag mismatch writing {key}.", current.ETag, grainState.ETag));
        grainState.ETag = written.ETag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        store.Entries.TryRemove(Key(stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private static string Key(string stateName, GrainId grainId) => $"{stateName}/{grainId}";
}

/// <summary>The store behind <see cref="SharedGrainStorage"/>: one per test cluster, found by the cluster's id.</summary>
internal sealed class SharedGrainStore
{
    private static readonly ConcurrentDictionary<string, SharedGrainStore> Clusters = new();

    public ConcurrentDictionary<string, Entry> Entries { get; } = new();

    public static SharedGrainStore For(string clusterId) => Clusters.GetOrAdd(clusterId, static _ => new SharedGrainStore());

    public static void Forget(string clusterId) => Clusters.TryRemove(clusterId, out _);

    internal sealed record Entry(byte[] Bytes, string? ETag);
}
