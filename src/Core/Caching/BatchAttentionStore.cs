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
public sealed class BatchAttentionStore : IKeyValueStore
{
    private readonly IReadOnlyList<SequenceKvCache> _rows;
    private readonly IReadOnlyList<int> _newTokens;
    private readonly IReadOnlyList<int>? _recurrences;

    /// <summary>Creates the store for one model call.</summary>
    /// <param name="rows">Each row's cache, in batch order.</param>
    /// <param name="newTokens">Real (unpadded) tokens each row contributes to this call.</param>
    /// <param name="recurrences">Each row's core recurrence index for this call; null uses the model's.</param>
    public BatchAttentionStore(IReadOnlyList<SequenceKvCache> rows, IReadOnlyList<int> newTokens, IReadOnlyList<int>? recurrences = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(newTokens);
        if (rows.Count != newTokens.Count || recurrences is not null && recurrences.Count != rows.Count)
        {
            throw new ArgumentException("rows, newTokens and recurrences must have one entry per batch row.");
        }

        _rows = rows;
        _newTokens = newTokens;
        _recurrences = recurrences;
    }

    /// <inheritdoc />
    public (Tensor Keys, Tensor Values, Tensor? Mask) Append(AttentionSlot slot, Tensor keys, Tensor values)
    {
        int batch = _rows.Count;
        long queries = keys.shape[2];
        var rowKeys = new Tensor[batch];
        var rowValues = new Tensor[batch];
        var rowPositions = new int[]?[batch];
        bool uniform = true;
        for (int r = 0; r < batch; r++)
        {
            var rowSlot = _recurrences is not null && slot.Stage == ModelStage.Core ? slot.AtRecurrence(_recurrences[r]) : slot;
            int n = _newTokens[r];
            (rowKeys[r], rowValues[r], rowPositions[r]) = _rows[r].Append(rowSlot, keys.narrow(0, r, 1).narrow(2, 0, n), values.narrow(0, r, 1).narrow(2, 0, n));
            uniform &= n == queries && rowPositions[r] is null && rowKeys[r].shape[2] == rowKeys[0].shape[2];
        }

        if (uniform)
        {
            // Every row is complete and equally long: the model's own causal rule applies unchanged.
            return batch == 1 ? (rowKeys[0], rowValues[0], null) : (cat(rowKeys, 0), cat(rowValues, 0), null);
        }

        long longest = rowKeys.Max(k => k.shape[2]);
        var paddedKeys = zeros([batch, keys.shape[1], longest, keys.shape[3]], keys.dtype, keys.device);
        var paddedValues = zeros_like(paddedKeys);
        var allowed = new bool[batch * queries * longest];
        for (int r = 0; r < batch; r++)
        {
            long length = rowKeys[r].shape[2];
            paddedKeys.narrow(0, r, 1).narrow(2, 0, length).copy_(rowKeys[r]);
            paddedValues.narrow(0, r, 1).narrow(2, 0, length).copy_(rowValues[r]);
            int cacheLength = _rows[r].Length;
            int firstQuery = cacheLength - _newTokens[r];
            for (long q = 0; q < queries; q++)
            {
                // Padding queries (q >= new tokens) attend to key 0 only, so their softmax stays finite; they are discarded.
                int queryPosition = q < _newTokens[r] ? firstQuery + (int)q : -1;
                for (long k = 0; k < length; k++)
                {
                    int keyPosition = rowPositions[r]?[k] ?? (int)k;
                    allowed[(r * queries + q) * longest + k] = queryPosition < 0 ? k == 0 : keyPosition <= queryPosition;
                }
            }
        }

        var mask = tensor(allowed, [batch, 1, queries, longest], device: keys.device);
        return (paddedKeys, paddedValues, mask);
    }
}
