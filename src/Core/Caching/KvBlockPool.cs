using static TorchSharp.torch;

namespace RecurrentDepth.Caching;

/// <summary>
/// Key/value storage shared by every sequence of one model (one dtype, one device): one tensor of fixed-size blocks,
/// handed out to sequences' slots by id, so that a batched layer call writes every row's new entries with one
/// <c>index_copy_</c> and reads every row's history with one <c>index_select</c>, and never concatenates histories.
/// </summary>
/// <remarks>
/// <para>
/// The storage is (entries, 2, H, D): entry <c>block · BlockSize + offset</c> holds one position of one slot, keys at
/// [.., 0] and values at [.., 1]. Block 0 is the sink: padded query positions of a batch write there and padded key
/// positions read from there (and are masked out), so no call needs per-row narrowing. It starts zeroed, so the
/// sink is always finite. Blocks 1 .. <see cref="ScratchBlocks"/> are scratch: a what-if row of a batch (a readout of a
/// state that is not kept, <see cref="BatchAttentionStore"/>) writes its new entries there and reads them back in the
/// same layer, so the sequence's own entries stay as they are. No sequence holds a scratch block, and block reads
/// never include one.
/// </para>
/// <para>
/// With <c>maxBlocks</c> the pool is a fixed budget, allocated on first use; running out calls <see cref="Reclaim"/>
/// (the prefix cache gives back what it holds) and then throws <see cref="KvPoolExhaustedException"/>. Without it the
/// pool grows geometrically (one copy of the storage per doubling; block ids stay valid). Owned by one thread (the
/// engine's); not thread-safe, except the counters.
/// </para>
/// </remarks>
public sealed class KvBlockPool : IDisposable
{
    /// <summary>Positions of one slot per block.</summary>
    public const int BlockSize = 16;

    /// <summary>Blocks after the sink that hold scratch entries (<see cref="ScratchEntry"/>).</summary>
    public const int ScratchBlocks = 4;

    /// <summary>Scratch entries one call can use: its what-if rows' new positions, reused by every layer of the call.</summary>
    public const int ScratchEntries = ScratchBlocks * BlockSize;

    private const int SinkBlocks = 1;
    private const int ReservedBlocks = SinkBlocks + ScratchBlocks;
    private const int InitialBlocks = 64;

    private readonly Stack<int> _free = new();
    private readonly List<long> _scrub = [];
    private readonly long _heads;
    private readonly long _headDim;
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private readonly int _maxBlocks;
    private Tensor? _storage;
    private int _capacity; // blocks in _storage, the sink included
    private int _used;
    private bool _disposed;

    /// <summary>Creates an empty pool; storage is allocated on the first <see cref="Allocate"/>.</summary>
    /// <param name="heads">Attention heads H.</param>
    /// <param name="headDim">Head dimension D.</param>
    /// <param name="dtype">Storage dtype (the model's).</param>
    /// <param name="device">Storage device (the model's).</param>
    /// <param name="maxBlocks">Blocks available to sequences (the sink not counted); 0 grows without limit.</param>
    public KvBlockPool(long heads, long headDim, ScalarType dtype, Device device, int maxBlocks = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBlocks);
        _heads = heads;
        _headDim = headDim;
        _dtype = dtype;
        _device = device;
        _maxBlocks = maxBlocks;
    }

    /// <summary>The entry every padded position writes to and reads from.</summary>
    public const long SinkEntry = 0;

    /// <summary>Scratch entry <paramref name="index"/> (0 .. <see cref="ScratchEntries"/> − 1).</summary>
    public static long ScratchEntry(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ScratchEntries);
        return (long)SinkBlocks * BlockSize + index;
    }

    /// <summary>Bytes of one position of one slot (keys and values).</summary>
    public long EntryBytes => EntryBytesOf(_heads, _headDim, _dtype);

    /// <summary>Bytes of one position of one slot (keys and values) for a model of these shapes.</summary>
    public static long EntryBytesOf(long heads, long headDim, ScalarType dtype) => 2 * heads * headDim * dtype switch
    {
        ScalarType.Float64 => 8,
        ScalarType.Float32 => 4,
        _ => 2,
    };

    /// <summary>Bytes of one block.</summary>
    public long BlockBytes => EntryBytes * BlockSize;

    /// <summary>Blocks sequences can hold: the budget, or (growing pool) what is allocated now.</summary>
    public int TotalBlocks => _maxBlocks > 0 ? _maxBlocks : Math.Max(0, _capacity - ReservedBlocks);

    /// <summary>Blocks held by sequences (and by the prefix cache, whose caches are sequences' caches).</summary>
    public int UsedBlocks => Volatile.Read(ref _used);

    /// <summary>Blocks that can be handed out without growing (fixed pool: without reclaiming).</summary>
    public int FreeBlocks => TotalBlocks - UsedBlocks;

    /// <summary>Whether the pool has a fixed number of blocks.</summary>
    public bool IsBounded => _maxBlocks > 0;

    /// <summary>
    /// Called when a bounded pool has no free block: frees blocks held elsewhere (e.g. least recently used prefix
    /// cache entries) and returns whether it freed anything. Null: nothing to reclaim.
    /// </summary>
    public Func<bool>? Reclaim { get; set; }

    /// <summary>The storage (entries, 2, H, D). Replaced when a growing pool grows: do not keep it across calls.</summary>
    public Tensor Storage => _storage ?? throw new InvalidOperationException("The pool has no storage before its first block is allocated.");

    /// <summary>Hands out one block.</summary>
    /// <exception cref="KvPoolExhaustedException">A bounded pool has no free block and nothing could be reclaimed.</exception>
    public int Allocate()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (_free.Count == 0)
        {
            if (_maxBlocks == 0)
            {
                Grow(Math.Max(InitialBlocks, _capacity * 2));
            }
            else if (_capacity == 0)
            {
                Grow(_maxBlocks + ReservedBlocks);
            }
            else if (Reclaim?.Invoke() != true)
            {
                throw new KvPoolExhaustedException(
                    $"The key/value pool is full: all {_maxBlocks} blocks of {BlockSize} positions ({BlockBytes:N0} bytes each, " +
                    "RecurrentDepth:KvCacheBudgetBytes) are in use and nothing could be reclaimed.");
            }
        }

        Interlocked.Increment(ref _used);
        return _free.Pop();
    }

    /// <summary>
    /// Marks entries whose contents are stale (a block given back, positions a slot forgot) to be zeroed by the
    /// next <see cref="ZeroScrubbed"/>. Block reads attend over whole blocks and mask the positions past a row's length;
    /// a masked key still enters the score, so it must be finite, and a stale one may not be (a failed request's NaN).
    /// </summary>
    internal void Scrub(long firstEntry, int count)
    {
        for (int i = 0; i < count; i++)
        {
            _scrub.Add(firstEntry + i);
        }
    }

    /// <summary>Zeroes every entry marked by <see cref="Scrub"/> (one device call), before the layers that read them.</summary>
    internal void ZeroScrubbed()
    {
        if (_scrub.Count == 0 || _storage is null)
        {
            return;
        }

        using (var ids = tensor(_scrub.ToArray(), device: _device))
        {
            _storage.index_fill_(0, ids, 0);
        }

        _scrub.Clear();
    }

    /// <summary>Returns a block handed out by <see cref="Allocate"/>.</summary>
    public void Free(int block)
    {
        if (_disposed)
        {
            return;
        }

        if (block < ReservedBlocks || block >= _capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(block), block, $"Not a block this pool hands out ({ReservedBlocks} .. {_capacity - 1}).");
        }

        Scrub((long)block * BlockSize, BlockSize); // fresh storage is zeros; only a block given back holds stale entries
        _free.Push(block);
        Interlocked.Decrement(ref _used);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _storage?.Dispose();
        _storage = null;
    }

    private void Grow(int capacity)
    {
        var storage = zeros([(long)capacity * BlockSize, 2, _heads, _headDim], _dtype, _device).DetachFromDisposeScope();
        if (_storage is not null)
        {
            storage.narrow(0, 0, (long)_capacity * BlockSize).copy_(_storage);
            _storage.Dispose();
        }

        // Hand out low ids first (the stack pops the last pushed).
        for (int block = capacity - 1; block >= Math.Max(_capacity, ReservedBlocks); block--)
        {
            _free.Push(block);
        }

        _storage = storage;
        _capacity = capacity;
    }
}

/// <summary>A bounded <see cref="KvBlockPool"/> had no block left for a sequence.</summary>
public sealed class KvPoolExhaustedException(string message) : InvalidOperationException(message);
