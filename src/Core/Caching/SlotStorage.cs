namespace RecurrentDepth.Caching;

/// <summary>
/// One slot's keys and values of one sequence: a block table into the shared <see cref="KvBlockPool"/> (block k
/// holds positions 16k .. 16k + 15) and which positions hold an entry (early exit leaves holes).
/// </summary>
internal sealed class SlotStorage(KvBlockPool pool) : IDisposable
{
    private readonly List<int> _blocks = [];
    private bool[] _present = [];

    /// <summary>Positions the slot's blocks can hold.</summary>
    public int Capacity => _blocks.Count * KvBlockPool.BlockSize;

    public int BlockCount => _blocks.Count;

    public int PresentCount { get; private set; }

    public bool Has(int position) => position < _present.Length && _present[position];

    /// <summary>The pool block holding positions 16k .. 16k + 15.</summary>
    public int Block(int k) => _blocks[k];

    /// <summary>The pool entry of <paramref name="position"/> (whether or not it was written).</summary>
    public long Entry(int position) =>
        (long)_blocks[position / KvBlockPool.BlockSize] * KvBlockPool.BlockSize + position % KvBlockPool.BlockSize;

    /// <summary>
    /// Makes room for positions <paramref name="start"/> .. start + count − 1, marks them present and writes their
    /// pool entries into <paramref name="entries"/>. Blocks come from the pool before anything is marked, so a full
    /// pool leaves the slot as it was (apart from blocks it now holds for later).
    /// </summary>
    public void Write(int start, int count, Span<long> entries)
    {
        int end = start + count;
        while (Capacity < end)
        {
            _blocks.Add(pool.Allocate());
        }

        if (_present.Length < Capacity)
        {
            Array.Resize(ref _present, Capacity);
        }

        for (int p = start; p < end; p++)
        {
            entries[p - start] = Entry(p);
            if (!_present[p])
            {
                _present[p] = true;
                PresentCount++;
            }
        }
    }

    /// <summary>Forgets positions from <paramref name="length"/> on and gives whole unused blocks back.</summary>
    public void Forget(int length)
    {
        for (int p = length; p < _present.Length; p++)
        {
            if (_present[p])
            {
                _present[p] = false;
                PresentCount--;
            }
        }

        int keep = (length + KvBlockPool.BlockSize - 1) / KvBlockPool.BlockSize;
        for (int b = _blocks.Count - 1; b >= keep; b--)
        {
            pool.Free(_blocks[b]);
            _blocks.RemoveAt(b);
        }

        if (length < Capacity)
        {
            pool.Scrub(Entry(length), Capacity - length); // the kept last block's forgotten tail
        }
    }

    public void Dispose()
    {
        foreach (int block in _blocks)
        {
            pool.Free(block);
        }

        _blocks.Clear();
    }
}
