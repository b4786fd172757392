using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Caching;

/// <summary>
/// Keys and values of one sequence, addressed by attention slot (prelude layer, core layer × recurrence, coda layer)
/// exactly as the reference's <c>HuginnDynamicCache</c> numbers them, with a record of how many recurrences each
/// position ran. Each slot is a block table into a <see cref="KvBlockPool"/> shared with the other sequences of a batch,
/// so a batched call writes and reads every row's entries with one indexed copy each (<see cref="BatchAttentionStore"/>).
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
    private readonly bool _ownsPool;
    private int[] _depth = new int[KvBlockPool.BlockSize * 4];
    private bool _disposed;

    /// <summary>Creates an empty cache for a model of <paramref name="config"/> with a pool of its own (grows as needed).</summary>
    public SequenceKvCache(RavenConfig config, CacheStrategy strategy, ScalarType dtype, Device device)
        : this(config, strategy, new KvBlockPool(config.NHeads, config.HeadDim, dtype, device), ownsPool: true)
    {
    }

    /// <summary>Creates an empty cache whose slots take their blocks from <paramref name="pool"/> (shared by a batch).</summary>
    public SequenceKvCache(RavenConfig config, CacheStrategy strategy, KvBlockPool pool)
        : this(config, strategy, pool, ownsPool: false)
    {
    }

    private SequenceKvCache(RavenConfig config, CacheStrategy strategy, KvBlockPool pool, bool ownsPool)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(pool);
        Strategy = strategy;
        Pool = pool;
        _ownsPool = ownsPool;
        _prelude = config.NLayersInPrelude;
        _core = config.NLayersInRecurrentBlock;
        _coda = config.NLayersInCoda;
    }

    /// <summary>Where the slots' blocks live.</summary>
    public KvBlockPool Pool { get; }

    /// <summary>How slots are shared and holes are read.</summary>
    public CacheStrategy Strategy { get; }

    /// <summary>Tokens stored so far.</summary>
    public int Length { get; private set; }

    /// <summary>Bytes of key/value storage held: whole blocks of <see cref="KvBlockPool.BlockSize"/> positions per slot.</summary>
    public long AllocatedBytes => BlocksHeld * Pool.BlockBytes;

    /// <summary>Pool blocks the slots hold.</summary>
    public int BlocksHeld => _slots.Values.Sum(s => s.BlockCount);

    /// <summary>Bytes of key/value entries actually written, over all slots.</summary>
    public long UsedBytes => _slots.Values.Sum(s => (long)s.PresentCount) * EntryBytes;

    /// <summary>Mean key/value bytes per stored token (<see cref="UsedBytes"/> / <see cref="Length"/>).</summary>
    public double BytesPerToken => Length == 0 ? 0 : (double)UsedBytes / Length;

    /// <summary>Bytes of one position's keys and values in one slot (the unit every figure here counts in).</summary>
    public long BytesPerSlotPosition => EntryBytes;

    /// <summary>Number of distinct storage slots in use.</summary>
    public int SlotCount => _slots.Count;

    private long EntryBytes => Pool.EntryBytes;

    /// <summary>
    /// The most pool blocks <paramref name="positions"/> positions can take when every one runs
    /// <paramref name="maxSteps"/> recurrences: every distinct storage slot (after compression) times the blocks the
    /// positions fill. Admission reserves this much, so a running sequence can never run out of blocks part-way.
    /// </summary>
    public long WorstCaseBlocks(int positions, int maxSteps)
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

        long blocksPerSlot = (positions + KvBlockPool.BlockSize - 1) / KvBlockPool.BlockSize;
        return blocksPerSlot * (_prelude + _coda + coreSlots.Count);
    }

    /// <summary><see cref="WorstCaseBlocks"/> in bytes.</summary>
    public long WorstCaseBytes(int positions, int maxSteps) => WorstCaseBlocks(positions, maxSteps) * Pool.BlockBytes;

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
    /// Records that this call writes <paramref name="count"/> new positions into <paramref name="slot"/> (the positions
    /// after the ones stored so far; prelude layer 0 advances <see cref="Length"/>) and writes their pool entries into
    /// <paramref name="entries"/>. The caller copies the keys and values there (one <c>index_copy_</c> for a batch).
    /// </summary>
    /// <exception cref="KvPoolExhaustedException">A bounded pool has no block left; the cache is unchanged.</exception>
    public void Write(AttentionSlot slot, int count, Span<long> entries)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        bool advances = slot.Stage == ModelStage.Prelude && slot.Layer == 0;
        int length = advances ? Length + count : Length;
        int start = length - count;
        if (start < 0)
        {
            throw new InvalidOperationException($"Slot {slot.Index} was written before prelude layer 0 stored these {count} positions.");
        }

        GetOrCreate(StorageIndex(slot)).Write(start, count, entries);
        if (advances)
        {
            Length = length;
            EnsureDepthCapacity(Length);
        }

        if (slot.Stage == ModelStage.Core && slot.Layer == _core - 1)
        {
            for (int p = start; p < Length; p++)
            {
                _depth[p] = Math.Max(_depth[p], slot.Recurrence + 1);
            }
        }
    }

    /// <summary>
    /// What <paramref name="slot"/> attends over after this call's <see cref="Write"/>: the pool entries of its keys
    /// and values, written into <paramref name="entries"/> (at least <see cref="Length"/> long), and the number of
    /// them. <paramref name="keyPositions"/> is null when they are positions 0 .. n − 1, else (holes that the strategy
    /// skips) the position of each. Holes that the strategy fills read the same core layer's entry of another
    /// recurrence directly: nothing is copied.
    /// </summary>
    public int Read(AttentionSlot slot, Span<long> entries, out int[]? keyPositions)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int index = StorageIndex(slot);
        var own = _slots[index];
        keyPositions = null;
        if (own.PresentCount == Length)
        {
            for (int p = 0; p < Length; p++)
            {
                entries[p] = own.Entry(p);
            }

            return Length;
        }

        return Strategy.Lookup switch
        {
            CacheLookup.Full or CacheLookup.Skip => ReadPresent(own, entries, out keyPositions),
            CacheLookup.Latest or CacheLookup.Available => ReadFilled(index, own, entries, deepestOverall: false, out keyPositions),
            _ => ReadFilled(index, own, entries, deepestOverall: true, out keyPositions),
        };
    }

    /// <summary>Whether <paramref name="slot"/> holds every position 0 .. <see cref="Length"/> − 1 (no holes).</summary>
    public bool HoldsEveryPosition(AttentionSlot slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _slots[StorageIndex(slot)].PresentCount == Length;
    }

    /// <summary>
    /// When <paramref name="slot"/> holds every position 0 .. <see cref="Length"/> − 1 (what <see cref="Read"/> then
    /// returns), writes the pool blocks that hold them, in order (⌈Length / BlockSize⌉ of them), into
    /// <paramref name="blocks"/> and returns true; a slot with holes returns false and writes nothing.
    /// </summary>
    public bool TryReadBlocks(AttentionSlot slot, Span<long> blocks)
    {
        if (!HoldsEveryPosition(slot))
        {
            return false;
        }

        var own = _slots[StorageIndex(slot)];
        int count = (Length + KvBlockPool.BlockSize - 1) / KvBlockPool.BlockSize;
        for (int k = 0; k < count; k++)
        {
            blocks[k] = own.Block(k);
        }

        return true;
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
        if (_ownsPool)
        {
            Pool.Dispose();
        }
    }

    private int ReadPresent(SlotStorage storage, Span<long> entries, out int[]? keyPositions)
    {
        var positions = new int[storage.PresentCount];
        int n = 0;
        for (int p = 0; p < Length; p++)
        {
            if (storage.Has(p))
            {
                entries[n] = storage.Entry(p);
                positions[n++] = p;
            }
        }

        keyPositions = positions;
        return n;
    }

    // For each position without an entry here, take the same core layer's entry from another recurrence: the latest
    // one at or below this slot (reference "latest-m4"/"available-m4"), or the deepest one anywhere ("always-last-m4",
    // which then applies to every position). Slots are compared in storage-index space, as the reference does.
    private int ReadFilled(int index, SlotStorage own, Span<long> entries, bool deepestOverall, out int[]? keyPositions)
    {
        if (index < _prelude)
        {
            // Prelude slots have every position (the prelude runs for every token); the reference falls back to slot 0.
            return ReadPresent(own, entries, out keyPositions);
        }

        keyPositions = null;
        var sameLayer = _slots.Keys
            .Where(k => k >= _prelude && (k - _prelude) % _core == (index - _prelude) % _core && (deepestOverall || k <= index))
            .OrderDescending()
            .Select(k => _slots[k])
            .ToArray();
        for (int p = 0; p < Length; p++)
        {
            if (!deepestOverall && own.Has(p))
            {
                entries[p] = own.Entry(p);
                continue;
            }

            var source = Array.Find(sameLayer, s => s.Has(p))
                ?? throw new InvalidOperationException($"Position {p} has no key/value entry for core layer {(index - _prelude) % _core} at or below slot {index}.");
            entries[p] = source.Entry(p);
        }

        return Length;
    }

    private SlotStorage GetOrCreate(int index)
    {
        if (!_slots.TryGetValue(index, out var storage))
        {
            storage = new SlotStorage(Pool);
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
