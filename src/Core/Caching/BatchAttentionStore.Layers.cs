using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Caching;

// The host half of a whole scripted call (ScriptedBlocks): every layer's writes, reads and masks resolved at once.
public sealed partial class BatchAttentionStore
{
    /// <summary>
    /// Does the host half of every layer of one call at once, for a caller that runs the layers' tensor work itself
    /// (<see cref="ScriptedBlocks"/>): records the writes of <paramref name="queries"/> positions per row into each of
    /// <paramref name="slots"/> (in order) and resolves what each layer attends over, as if layer by layer: a layer's
    /// reads see the writes of the layers before it, not of those after it (in a multi-step core call a later recurrence
    /// may write a slot that an earlier one's hole lookup would otherwise pick). Blocks are allocated here, so the
    /// pool's storage does not change while the layers run.
    /// </summary>
    public PooledLayers PrepareLayers(IReadOnlyList<AttentionSlot> slots, int queries, Device device)
    {
        ArgumentNullException.ThrowIfNull(slots);
        int batch = _rows.Count, layers = slots.Count;
        var writes = new long[layers * batch * queries];
        var rowSlots = new AttentionSlot[layers][];
        int longest = 0;
        long[]? reads = null;
        var counts = new int[layers][];
        var positions = new int[]?[layers][];
        // The script's mask-free attention is SDPA's causal rule, which holds only for one query or whole rows.
        bool masked = false, blocks = _scratchOffsets is null;
        for (int l = 0; l < layers; l++)
        {
            rowSlots[l] = new AttentionSlot[batch];
            WriteRows(slots[l], queries, rowSlots[l], writes.AsSpan(l * batch * queries, batch * queries));
            if (l == 0)
            {
                longest = _rows.Max(r => r.Length); // prelude layer 0 is what advances a row's length
                masked = queries != 1 && queries != longest;
            }

            // A slot holding every position reads its own entries whenever it is resolved; a slot with holes is
            // resolved now, before later layers write.
            if (blocks && Enumerable.Range(0, batch).All(r => _rows[r].HoldsEveryPosition(rowSlots[l][r])))
            {
                continue;
            }

            blocks = false;
            reads ??= new long[layers * batch * longest];
            masked |= !ResolveEntries(l);
        }

        _pool.ZeroScrubbed();
        if (blocks)
        {
            var (blockIds, blockMask) = ReadBlocks(rowSlots, queries, longest, device);
            return new PooledLayers(_pool.Storage, tensor(writes, [layers, batch * queries], device: device), blockIds,
                blockMask ?? empty(0, ScalarType.Float32, device), longest);
        }

        reads ??= new long[layers * batch * longest];
        for (int l = 0; l < layers; l++)
        {
            if (counts[l] is null)
            {
                masked |= !ResolveEntries(l);
            }
        }

        Tensor masks;
        if (masked)
        {
            var allowed = new bool[layers * batch * queries * longest];
            for (int l = 0; l < layers; l++)
            {
                FillMask(allowed.AsSpan(l * batch * queries * longest, batch * queries * longest), queries, longest, counts[l], positions[l]);
            }

            masks = AdditiveMask(allowed, [layers, batch, 1, queries, longest], device);
        }
        else
        {
            masks = empty(0, ScalarType.Float32, device); // no mask: one query, or a whole causal sequence per row
        }

        return new PooledLayers(_pool.Storage, tensor(writes, [layers, batch * queries], device: device),
            tensor(reads, [layers, batch * longest], device: device), masks, 0);

        // Layer l's entries into reads; true when no mask is needed for it.
        bool ResolveEntries(int l)
        {
            counts[l] = new int[batch];
            positions[l] = new int[]?[batch];
            return ReadRows(rowSlots[l], queries, longest, reads!.AsSpan(l * batch * longest, batch * longest), counts[l], positions[l]);
        }
    }

    // Every position present in every layer's slot of every row, and no what-if row (PrepareLayers checked both): each
    // layer then attends over whole blocks (one copy of 16 entries per block instead of one per entry, the read that
    // grows with the context), rows padded with the sink block and cut to the longest row. Rows equally long with
    // every query real need no mask; otherwise one mask, (L, B, 1, S, T) expanded from the layers' common one, hides
    // what lies past each row's length (zeroed, see KvBlockPool.Scrub) and keeps the causal rule.
    private (Tensor Blocks, Tensor? Mask) ReadBlocks(AttentionSlot[][] rowSlots, int queries, int longest, Device device)
    {
        int batch = _rows.Count, layers = rowSlots.Length;
        int perRow = (longest + KvBlockPool.BlockSize - 1) / KvBlockPool.BlockSize;
        var blocks = new long[layers * batch * perRow]; // 0: the sink block
        for (int l = 0; l < layers; l++)
        {
            for (int r = 0; r < batch; r++)
            {
                if (!_rows[r].TryReadBlocks(rowSlots[l][r], blocks.AsSpan((l * batch + r) * perRow, perRow)))
                {
                    throw new InvalidOperationException($"Row {r}'s slot {rowSlots[l][r].Index} has holes; block reads need every position.");
                }
            }
        }

        var ids = tensor(blocks, [layers, batch * perRow], device: device);
        bool uniform = queries == 1 || queries == longest;
        for (int r = 0; r < batch; r++)
        {
            uniform &= _newTokens[r] == queries && _rows[r].Length == longest;
        }

        if (uniform)
        {
            return (ids, null);
        }

        var counts = _rows.Select(r => r.Length).ToArray();
        var allowed = new bool[batch * queries * longest];
        FillMask(allowed, queries, longest, counts, new int[]?[batch]);
        var mask = AdditiveMask(allowed, [1, batch, 1, queries, longest], device).expand(layers, batch, 1, queries, longest);
        return (ids, mask);
    }

    // The scripts' masks are additive fp32 (0 where allowed, −inf where not), built once per call: SDPA turns a boolean
    // mask into that form itself on every call, i.e. in every layer.
    private static Tensor AdditiveMask(bool[] allowed, long[] shape, Device device)
    {
        var values = new float[allowed.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = allowed[i] ? 0f : float.NegativeInfinity;
        }

        return tensor(values, shape, device: device);
    }
}
