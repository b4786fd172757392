using RecurrentDepth.Caching;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Caching;

/// <summary>The shared key/value pool: block hand-out, exhaustion, reclaiming, growth keeping contents, sink.</summary>
public sealed class KvBlockPoolTests
{
    [Fact]
    public void A_bounded_pool_hands_out_its_blocks_then_fails_clearly_and_a_freed_block_is_handed_out_again()
    {
        using var pool = new KvBlockPool(heads: 2, headDim: 4, ScalarType.Float32, CPU, maxBlocks: 3);
        int[] blocks = [pool.Allocate(), pool.Allocate(), pool.Allocate()];

        Assert.Equal([5, 6, 7], blocks); // block 0 is the sink, blocks 1-4 the scratch
        Assert.Equal((3, 3, 0), (pool.TotalBlocks, pool.UsedBlocks, pool.FreeBlocks));
        var error = Assert.Throws<KvPoolExhaustedException>(() => pool.Allocate());
        Assert.Contains("all 3 blocks of 16 positions", error.Message, StringComparison.Ordinal);
        Assert.Contains("KvCacheBudgetBytes", error.Message, StringComparison.Ordinal);

        pool.Free(6);
        Assert.Equal(6, pool.Allocate());
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Free(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Free(1 + KvBlockPool.ScratchBlocks - 1));
    }

    [Fact]
    public void A_full_bounded_pool_asks_reclaim_before_failing()
    {
        using var pool = new KvBlockPool(2, 4, ScalarType.Float32, CPU, maxBlocks: 1);
        int held = pool.Allocate();
        int calls = 0;
        pool.Reclaim = () =>
        {
            calls++;
            if (calls > 1)
            {
                return false;
            }

            pool.Free(held);
            return true;
        };

        Assert.Equal(held, pool.Allocate());
        Assert.Throws<KvPoolExhaustedException>(() => pool.Allocate());
        Assert.Equal(2, calls);
    }

    [Fact]
    public void A_growing_pool_keeps_every_written_entry_when_it_grows()
    {
        using var pool = new KvBlockPool(1, 2, ScalarType.Float32, CPU);
        int first = pool.Allocate();
        long entry = (long)first * KvBlockPool.BlockSize + 5;
        pool.Storage[entry].copy_(tensor(new float[] { 1, 2, 3, 4 }).view(2, 1, 2));
        int total = pool.TotalBlocks;

        var more = Enumerable.Range(0, total).Select(_ => pool.Allocate()).ToList();

        Assert.True(pool.TotalBlocks > total, "the pool must have grown");
        Assert.Equal(more.Count, more.Distinct().Count());
        Assert.DoesNotContain(first, more);
        Assert.Equal([1f, 2f, 3f, 4f], pool.Storage[entry].flatten().data<float>().ToArray());
        Assert.Equal(0f, pool.Storage[KvBlockPool.SinkEntry].abs().sum().item<float>());
    }

    [Fact]
    public void A_block_handed_out_again_is_zeroed_before_the_next_layer_call_reads_it()
    {
        using var pool = new KvBlockPool(1, 2, ScalarType.Float32, CPU);
        int block = pool.Allocate();
        pool.ZeroScrubbed();
        var entries = pool.Storage.narrow(0, (long)block * KvBlockPool.BlockSize, KvBlockPool.BlockSize);
        entries.fill_(float.NaN); // what a failed request may leave behind
        pool.Free(block);

        Assert.Equal(block, pool.Allocate());
        Assert.True(pool.Storage.narrow(0, (long)block * KvBlockPool.BlockSize, KvBlockPool.BlockSize).isnan().all().item<bool>());
        pool.ZeroScrubbed();

        Assert.Equal(0f, pool.Storage.narrow(0, (long)block * KvBlockPool.BlockSize, KvBlockPool.BlockSize).abs().sum().item<float>());
    }
}
