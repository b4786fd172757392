using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Caching;

/// <summary>
/// Presents several sequences' caches to the model as one batch. Row r of the batch writes its first
/// <c>NewTokens[r]</c> query positions into its own <see cref="SequenceKvCache"/> (the rest is right padding), and —
/// when given — at its own core recurrence, so rows at different depths can share one batched core step. Keys and
/// values are padded to the longest row and masked per row: a query sees a key only if the key belongs to its row
/// and is not in its future. Rows therefore never see each other, which is why batched generation gives the same
/// tokens as generating each sequence alone (the reference ignores attention masks and cannot do this).
/// </summary>
/// <remarks>
/// All rows' caches share one <see cref="KvBlockPool"/>, so a layer call is one <c>index_copy_</c> of the new entries
/// and one <c>index_select</c> of every row's history, whatever the batch size; the block tables are resolved on the
/// host into those two index vectors. Padding writes to and reads from the pool's sink entry. The mask is built on the
/// host, and once per model call when the rows have no holes (every layer of the call then shares it); the store owns
/// that shared mask until it is disposed.
/// </remarks>
public sealed partial class BatchAttentionStore : IKeyValueStore, IDisposable
{
    private readonly IReadOnlyList<SequenceKvCache> _rows;
    private readonly IReadOnlyList<int> _newTokens;
    private readonly IReadOnlyList<int>? _recurrences;
    private readonly KvBlockPool _pool;
    private readonly int[]? _scratchOffsets; // per row: its first scratch entry index, −1 for ordinary rows
    private Tensor? _mask;
    private int[]? _maskCounts;

    /// <summary>Creates the store for one model call.</summary>
    /// <param name="rows">Each row's cache, in batch order; all on one <see cref="KvBlockPool"/>.</param>
    /// <param name="newTokens">Real (unpadded) tokens each row contributes to this call.</param>
    /// <param name="recurrences">Each row's core recurrence index for this call's first step (a core slot's own
    /// recurrence then counts from it: 0 for the first step, 1 for the next of a multi-step call); null uses the model's.</param>
    /// <param name="shadows">
    /// Which rows are what-if rows (null: none). A what-if row attends as its cache's own row of the call does, but
    /// its new positions' keys and values go to the pool's scratch entries and are read from there, so its cache is
    /// left as it is: a readout of a state that is not kept (the second-to-last recurrence, read out beside the last
    /// one to measure their KL) shares the last one's call. Its cache must also be an ordinary row of the call, with
    /// as many new tokens, and all what-if rows together may write at most <see cref="KvBlockPool.ScratchEntries"/>.
    /// </param>
    public BatchAttentionStore(IReadOnlyList<SequenceKvCache> rows, IReadOnlyList<int> newTokens, IReadOnlyList<int>? recurrences = null,
        IReadOnlyList<bool>? shadows = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(newTokens);
        if (rows.Count == 0 || rows.Count != newTokens.Count || recurrences is not null && recurrences.Count != rows.Count
            || shadows is not null && shadows.Count != rows.Count)
        {
            throw new ArgumentException("rows, newTokens, recurrences and shadows must have one entry per batch row (at least one row).");
        }

        _scratchOffsets = shadows is null ? null : ScratchOffsets(rows, newTokens, shadows);

        _pool = rows[0].Pool;
        if (rows.Any(r => !ReferenceEquals(r.Pool, _pool)))
        {
            throw new ArgumentException("Every row of a batch must keep its keys and values in the same KvBlockPool.", nameof(rows));
        }

        _rows = rows;
        _newTokens = newTokens;
        _recurrences = recurrences;
    }

    /// <inheritdoc />
    public (Tensor Keys, Tensor Values, Tensor? Mask) Append(AttentionSlot slot, Tensor keys, Tensor values)
    {
        int batch = _rows.Count;
        int queries = (int)keys.shape[2];
        long heads = keys.shape[1], headDim = keys.shape[3];
        var slots = new AttentionSlot[batch];
        var writes = new long[batch * queries];
        WriteRows(slot, queries, slots, writes);
        _pool.ZeroScrubbed();

        // (B, H, S, D) keys and values into the pool's (entries, 2, H, D) layout in one copy.
        var entries = stack([keys.transpose(1, 2), values.transpose(1, 2)], 2).view(batch * queries, 2, heads, headDim);
        _pool.Storage.index_copy_(0, tensor(writes, device: keys.device), entries);

        int longest = _rows.Max(r => r.Length);
        var reads = new long[batch * longest];
        var counts = new int[batch];
        var positions = new int[]?[batch];
        bool uniform = ReadRows(slots, queries, longest, reads, counts, positions);

        var kv = _pool.Storage.index_select(0, tensor(reads, device: keys.device))
            .view(batch, longest, 2, heads, headDim)
            .permute(2, 0, 3, 1, 4); // (2, B, H, T, D)
        var (k, v) = (kv[0], kv[1]);

        // Every row complete and equally long: the model's own causal rule applies unchanged.
        return uniform ? (k, v, null) : (k, v, Mask(queries, longest, counts, positions, keys.device));
    }

    // Records each row's real queries in its slot (for a core slot, the row's own recurrence plus the slot's) and their pool entries in
    // writes, B·S long; padding stays entry 0, the sink.
    private void WriteRows(AttentionSlot slot, int queries, AttentionSlot[] rowSlots, Span<long> writes)
    {
        for (int r = 0; r < _rows.Count; r++)
        {
            rowSlots[r] = _recurrences is not null && slot.Stage == ModelStage.Core ? slot.AtRecurrence(_recurrences[r] + slot.Recurrence) : slot;
            var entries = writes.Slice(r * queries, _newTokens[r]);
            if (ScratchOffset(r) is int first)
            {
                for (int q = 0; q < entries.Length; q++)
                {
                    entries[q] = KvBlockPool.ScratchEntry(first + q);
                }
            }
            else
            {
                _rows[r].Write(rowSlots[r], _newTokens[r], entries);
            }
        }
    }

    // Resolves what each row attends over into reads, B·T long, padded with the sink to the longest row. True when every
    // row is complete and equally long, so no mask is needed.
    private bool ReadRows(AttentionSlot[] rowSlots, int queries, int longest, Span<long> reads, int[] counts, int[]?[] positions)
    {
        bool uniform = true;
        for (int r = 0; r < _rows.Count; r++)
        {
            var entries = reads.Slice(r * longest, longest);
            counts[r] = _rows[r].Read(rowSlots[r], entries, out positions[r]);
            if (ScratchOffset(r) is int first)
            {
                // The what-if row's own new positions: its scratch entries, not what its cache's row wrote there.
                int firstNew = _rows[r].Length - _newTokens[r];
                for (int k = 0; k < counts[r]; k++)
                {
                    int position = positions[r]?[k] ?? k;
                    if (position >= firstNew)
                    {
                        entries[k] = KvBlockPool.ScratchEntry(first + position - firstNew);
                    }
                }
            }

            uniform &= _newTokens[r] == queries && positions[r] is null && counts[r] == longest;
        }

        return uniform;
    }

    private int? ScratchOffset(int row) => _scratchOffsets is { } offsets && offsets[row] >= 0 ? offsets[row] : null;

    private static int[]? ScratchOffsets(IReadOnlyList<SequenceKvCache> rows, IReadOnlyList<int> newTokens, IReadOnlyList<bool> shadows)
    {
        var offsets = new int[rows.Count];
        int used = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            offsets[r] = -1;
            if (!shadows[r])
            {
                continue;
            }

            bool paired = Enumerable.Range(0, rows.Count).Any(o => !shadows[o] && ReferenceEquals(rows[o], rows[r]) && newTokens[o] == newTokens[r]);
            if (!paired)
            {
                throw new ArgumentException($"What-if row {r} has no ordinary row of the same cache with {newTokens[r]} new tokens in the call.", nameof(shadows));
            }

            offsets[r] = used;
            used += newTokens[r];
        }

        if (used > KvBlockPool.ScratchEntries)
        {
            throw new ArgumentException($"What-if rows write {used} new positions; the pool has {KvBlockPool.ScratchEntries} scratch entries.", nameof(shadows));
        }

        return used == 0 ? null : offsets; // no what-if row: block reads stay possible
    }

    // true = attend. A query sees its own row's keys up to its position; padding queries (q >= new tokens) see key 0
    // only, so their softmax stays finite (they are discarded); padding keys (k >= count) are never seen.
    private Tensor Mask(int queries, int longest, int[] counts, int[]?[] positions, Device device)
    {
        bool holes = positions.Any(p => p is not null);
        if (!holes && _mask is not null && _maskCounts is not null && _maskCounts.AsSpan().SequenceEqual(counts))
        {
            return _mask;
        }

        int batch = _rows.Count;
        var allowed = new bool[batch * queries * longest];
        FillMask(allowed, queries, longest, counts, positions);
        var mask = tensor(allowed, [batch, 1, queries, longest], device: device);
        if (!holes)
        {
            // Kept for the call's other layers, each of which runs in its own dispose scope.
            _mask?.Dispose();
            (_mask, _maskCounts) = (mask.DetachFromDisposeScope(), counts);
        }

        return mask;
    }

    private void FillMask(Span<bool> allowed, int queries, int longest, int[] counts, int[]?[] positions)
    {
        for (int r = 0; r < _rows.Count; r++)
        {
            int firstQuery = _rows[r].Length - _newTokens[r];
            for (int q = 0; q < queries; q++)
            {
                int queryPosition = q < _newTokens[r] ? firstQuery + q : -1;
                int offset = (r * queries + q) * longest;
                for (int k = 0; k < counts[r]; k++)
                {
                    int keyPosition = positions[r]?[k] ?? k;
                    allowed[offset + k] = queryPosition < 0 ? k == 0 : keyPosition <= queryPosition;
                }
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _mask?.Dispose();
        _mask = null;
    }
}
