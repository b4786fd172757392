using static TorchSharp.torch;

namespace RecurrentDepth.Caching;

/// <summary>
/// The host-resolved attention metadata of every layer of one call (<see cref="BatchAttentionStore.PrepareLayers"/>).
/// </summary>
/// <param name="Storage">The pool's storage (entries, 2, H, D).</param>
/// <param name="Writes">Entries each layer writes, (L, B·S); padding writes to the sink.</param>
/// <param name="Reads">Entries each layer attends over, (L, B·T), padding reading the sink; or, with
/// <paramref name="BlockReadLength"/>, the blocks, (L, B·⌈T / BlockSize⌉).</param>
/// <param name="Masks">(L, B, 1, S, T) additive fp32 (0 = attend, −inf = not); empty when no layer needs one (one query, or whole causal rows).</param>
/// <param name="BlockReadLength">T when <paramref name="Reads"/> holds blocks (no holes; rows shorter than T masked):
/// the first T positions of each row's blocks are what it attends over. 0 when it holds entries.</param>
public sealed record PooledLayers(Tensor Storage, Tensor Writes, Tensor Reads, Tensor Masks, int BlockReadLength);
