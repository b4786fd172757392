using RecurrentDepth.Caching;
using RecurrentDepth.Configuration;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Caching;

/// <summary>The prefix cache's bookkeeping: byte bound, least-recently-used eviction, continuation rule, truncation.</summary>
public sealed class PrefixCacheTests
{
    private static readonly RavenConfig Config = RavenConfig.Load(Path.Combine(FixtureCatalog.Tiny, "config.json"));

    // A cache holding `length` positions in prelude layer 0 only, position p's keys all equal to p.
    private static SequenceKvCache Filled(int length, CacheStrategy? strategy = null)
    {
        var cache = new SequenceKvCache(Config, strategy ?? CacheStrategy.Full, ScalarType.Float32, CPU);
        using var scope = NewDisposeScope();
        var keys = arange(length, ScalarType.Float32).view(1, 1, length, 1).expand(1, Config.NHeads, length, Config.HeadDim).contiguous();
        using var store = new BatchAttentionStore([cache], [length]);
        store.Append(new AttentionSlot(ModelStage.Prelude, 0, 0, Config.NLayersInPrelude, Config.NLayersInRecurrentBlock), keys, keys.clone());
        return cache;
    }

    [Fact]
    public void A_continuing_prompt_takes_the_longest_shared_prefix_truncated_and_the_entry_leaves()
    {
        using var store = new PrefixCache(1 << 20);
        store.Add([1, 2, 3, 4, 5, 6], promptLength: 3, Filled(6));

        // Shares 1..5 with the stored tokens, then diverges.
        using var taken = store.Take([1, 2, 3, 4, 5, 9, 9], CacheStrategy.Full);

        Assert.NotNull(taken);
        Assert.Equal(5, taken!.Length);
        Assert.Equal((0, 0L), (store.Count, store.Bytes));
        Assert.Null(store.Take([1, 2, 3, 4, 5, 9, 9], CacheStrategy.Full));
    }

    [Fact]
    public void A_prompt_that_does_not_contain_the_whole_stored_prompt_or_another_strategy_is_not_served()
    {
        using var store = new PrefixCache(1 << 20);
        store.Add([1, 2, 3, 4, 5, 6], promptLength: 4, Filled(6));

        Assert.Null(store.Take([1, 2, 3, 4], CacheStrategy.Full)); // the same prompt again: 3 shared < 4
        Assert.Null(store.Take([1, 2, 3, 7, 8], CacheStrategy.Full));
        Assert.Null(store.Take([1, 2, 3, 4, 5, 6, 7], CacheStrategy.Parse("latest-m4")));
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public void Least_recently_used_entries_are_dropped_to_stay_within_the_byte_bound()
    {
        using var probe = Filled(10);
        long one = probe.AllocatedBytes;
        using var store = new PrefixCache(one * 2);
        store.Add([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 2, Filled(10));
        store.Add([2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 2, Filled(10));
        store.Add([3, 3, 3, 3, 3, 3, 3, 3, 3, 3], 2, Filled(10));

        Assert.Equal((2, one * 2), (store.Count, store.Bytes));
        Assert.Null(store.Take([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], CacheStrategy.Full));
        using var third = store.Take([3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3], CacheStrategy.Full);
        Assert.Equal(10, third!.Length);

        store.Add([4], 1, Filled(1));
        using var tooBig = new PrefixCache(one - 1);
        tooBig.Add([5, 5, 5, 5, 5, 5, 5, 5, 5, 5], 2, Filled(10));
        Assert.Equal((0, 0L), (tooBig.Count, tooBig.Bytes));
    }
}
