using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Caching;

/// <summary>
/// Keys and values of one sequence, addressed by attention slot (prelude layer, core layer × recurrence, coda layer)
/// exactly as the reference's <c>HuginnDynamicCache</c> numbers them, with a record of how many recurrences each
/// position ran. Storage per slot is one preallocated (1, H, capacity, D) tensor pair that grows geometrically, so a
/// decode step appends in place and, when every position has the slot, attends over a view without copying.
/// </summary>
/// <remarks>
/// Positions advance when prelude layer 0 is written (as in the reference). Holes appear only after early exit; the
/// <see cref="CacheStrategy.Lookup"/> decides how they are read. Compression remaps core slots before storing and
/// reading. Owned by one thread (the engine's); not thread-safe.
/// </remarks>
public sealed class SequenceKvCache : IDisposable
{
    private readonly Dictionary<int, SlotStorage> _slots = [];
    private readonly int _prelude;
    private readonly int _core;
    private readonly int _coda;
    private readonly long _heads;
    private readonly long _headDim;
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private int[] _depth = new int[SlotStorage.MinimumCapacity];
    private bool _disposed;

    /// <summary>Creates an empty cache for a model of <paramref name="config"/>.</summary>
    public SequenceKvCache(RavenConfig config, CacheStrategy strategy, ScalarType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(strategy);
        Strategy = strategy;
        _prelude = config.NLayersInPrelude;
        _core = config.NLayersInRecurrentBlock;
        _coda = config.NLayersInCoda;
        _heads = config.NHeads;
        _headDim = config.HeadDim;
        _dtype = dtype;
        _device = device;
    }

    /// <summary>How slots are shared and holes are read.</summary>
    public CacheStrategy Strategy { get; }

    /// <summary>Tokens stored so far.</summary>
    public int Length { get; private set; }

    /// <summary>Bytes of key/value storage allocated (capacity included).</summary>
    public long AllocatedBytes => _slots.Values.Sum(s => s.Capacity) * EntryBytes;

    /// <summary>Bytes of key/value entries actually written, over all slots.</summary>
    public long UsedBytes => _slots.Values.Sum(s => (long)s.PresentCount) * EntryBytes;

    /// <summary>Mean key/value bytes per stored token (<see cref="UsedBytes"/> / <see cref="Length"/>).</summary>
    public double BytesPerToken => Length == 0 ? 0 : (double)UsedBytes / Length;

    /// <summary>Bytes of one position's keys and values in one slot (the unit every figure here counts in).</summary>
    public long BytesPerSlotPosition => EntryBytes;

    /// <summary>Number of distinct storage slots in use.</summary>
    public int SlotCount => _slots.Count;

    private long EntryBytes => 2 * _heads * _headDim * (_dtype is ScalarType.Float64 ? 8 : _dtype is ScalarType.Float32 ? 4 : 2);

    /// <summary>
    /// The most bytes of entries <paramref name="positions"/> positions can write when every one runs
    /// <paramref name="maxSteps"/> recurrences: every distinct storage slot (after compression) times every position.
    /// Admission reserves this much, so a running sequence can never run out of budget part-way.
    /// </summary>
    public long WorstCaseBytes(int positions, int maxSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(positions);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSteps);
        var coreSlots = new HashSet<int>();
        for (int recurrence = 0; recurrence < maxSteps; recurrence++)
        {
            for (int layer = 0; layer < _core; layer++)
            {
                coreSlots.Add(StorageIndex(new AttentionSlot(ModelStage.Core, layer, recurrence, _prelude, _core)));
            }
        }

        return (long)positions * (_prelude + _coda + coreSlots.Count) * EntryBytes;
    }

    /// <summary>Recurrences position <paramref name="position"/> ran (0 while its first recurrence is pending).</summary>
    public int RecurrencesAt(int position) => _depth[position];

    /// <summary>The reference slot number a slot is stored under after compression.</summary>
    public int StorageIndex(AttentionSlot slot)
    {
        int index = slot.Index;
        if (slot.Stage != ModelStage.Core)
        {
            return index;
        }

        int offset = index - _prelude;
        return Strategy.Compression switch
        {
            CacheCompression.Ring => offset % Strategy.CompressionSize + _prelude,
            CacheCompression.Group => offset / Strategy.CompressionSize + _prelude,
            CacheCompression.Anchor when offset >= CacheStrategy.AnchorRecurrences * _core =>
                AnchorBase + (index - AnchorBase) % _core,
            _ => index,
        };
    }

    private int AnchorBase => _prelude + CacheStrategy.AnchorRecurrences * _core;

    /// <summary>
    /// Stores this call's keys and values (1, H, S, D) for <paramref name="slot"/> and returns what to attend over:
    /// keys and values (1, H, T, D) and, when early exit left holes that the strategy skips, the positions of the
    /// returned keys (else null: the keys are positions 0 .. T − 1).
    /// </summary>
    public (Tensor Keys, Tensor Values, int[]? KeyPositions) Append(AttentionSlot slot, Tensor keys, Tensor values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int count = (int)keys.shape[2];
        if (slot.Stage == ModelStage.Prelude && slot.Layer == 0)
        {
            Length += count;
            EnsureDepthCapacity(Length);
        }

        int start = Length - count;
        if (start < 0)
        {
            throw new InvalidOperationException($"Slot {slot.Index} was written before prelude layer 0 stored these {count} positions.");
        }

        int index = StorageIndex(slot);
        var storage = GetOrCreate(index);
        storage.Write(start, keys, values, Length);
        if (slot.Stage == ModelStage.Core && slot.Layer == _core - 1)
        {
            for (int p = start; p < Length; p++)
            {
                _depth[p] = Math.Max(_depth[p], slot.Recurrence + 1);
            }
        }

        if (storage.PresentCount == Length)
        {
            return (storage.Keys.narrow(2, 0, Length), storage.Values.narrow(2, 0, Length), null);
        }

        return Strategy.Lookup switch
        {
            CacheLookup.Full or CacheLookup.Skip => ReadPresent(storage),
            CacheLookup.Latest or CacheLookup.Available => ReadFilled(index, storage, deepestOverall: false),
            _ => ReadFilled(index, storage, deepestOverall: true),
        };
    }

    /// <summary>Forgets the last <paramref name="count"/> positions (e.g. rejected speculative tokens).</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Length);
        Length -= count;
        foreach (var storage in _slots.Values)
        {
            storage.Forget(Length);
        }

        Array.Clear(_depth, Length, _depth.Length - Length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var storage in _slots.Values)
        {
            storage.Dispose();
        }

        _slots.Clear();
    }

    private (Tensor, Tensor, int[]?) ReadPresent(SlotStorage storage)
    {
        var positions = Enumerable.Range(0, Length).Where(storage.Has).ToArray();
        using var index = tensor(positions.Select(p => (long)p).ToArray(), ScalarType.Int64, _device);
        return (storage.Keys.index_select(2, index), storage.Values.index_select(2, index), positions);
    }

    // For each position without an entry here, take the same core layer's entry from another recurrence: the latest
    // one at or below this slot (reference "latest-m4"/"available-m4"), or the deepest one anywhere ("always-last-m4",
    // which then applies to every position). Slots are compared in storage-index space, as the reference does.
    private (Tensor, Tensor, int[]?) ReadFilled(int index, SlotStorage own, bool deepestOverall)
    {
        if (index < _prelude)
        {
            // Prelude slots have every position (the prelude runs for every token); the reference falls back to slot 0.
            return ReadPresent(own);
        }

        var sameLayer = _slots.Keys
            .Where(k => k >= _prelude && (k - _prelude) % _core == (index - _prelude) % _core && (deepestOverall || k <= index))
            .OrderDescending()
            .ToList();
        var sources = new Dictionary<int, List<long>>();
        for (int p = 0; p < Length; p++)
        {
            if (!deepestOverall && own.Has(p))
            {
                continue;
            }

            int source = sameLayer.FirstOrDefault(k => _slots[k].Has(p), int.MinValue);
            if (source == int.MinValue)
            {
                throw new InvalidOperationException($"Position {p} has no key/value entry for core layer {(index - _prelude) % _core} at or below slot {index}.");
            }

            if (source == index)
            {
                continue;
            }

            if (!sources.TryGetValue(source, out var list))
            {
                sources[source] = list = [];
            }

            list.Add(p);
        }

        var keys = own.Keys.narrow(2, 0, Length).clone();
        var values = own.Values.narrow(2, 0, Length).clone();
        foreach (var (source, list) in sources)
        {
            using var scope = NewDisposeScope();
            var positions = tensor(list.ToArray(), ScalarType.Int64, _device);
            keys.index_copy_(2, positions, _slots[source].Keys.index_select(2, positions));
            values.index_copy_(2, positions, _slots[source].Values.index_select(2, positions));
        }

        return (keys, values, null);
    }

    private SlotStorage GetOrCreate(int index)
    {
        if (!_slots.TryGetValue(index, out var storage))
        {
            storage = new SlotStorage(_heads, _headDim, _dtype, _device);
            _slots[index] = storage;
        }

        return storage;
    }

    private void EnsureDepthCapacity(int length)
    {
        if (length > _depth.Length)
        {
            Array.Resize(ref _depth, Math.Max(length, _depth.Length * 2));
        }
    }
}
