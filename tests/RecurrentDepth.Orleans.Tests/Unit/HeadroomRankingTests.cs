using RecurrentDepth.Orleans.Placement;

namespace RecurrentDepth.Orleans.Tests.Unit;

public sealed class HeadroomRankingTests
{
    private static SiloLoadReport Idle(int conversations = 0) => new()
    {
        Accepting = true, QueueCapacity = 64, KvBlocksTotal = 100, KvBlocksFree = 100, Conversations = conversations,
    };

    [Fact]
    public void The_silo_with_the_most_free_kv_blocks_wins()
    {
        var reports = new[] { Idle() with { KvBlocksFree = 20 }, Idle() with { KvBlocksFree = 70 }, Idle() with { KvBlocksFree = 40 } };

        Assert.Equal(1, HeadroomRanking.Choose(reports, tolerance: 0.05));
    }

    [Fact]
    public void A_long_queue_outweighs_equal_free_kv()
    {
        var reports = new[] { Idle() with { QueueLength = 32, ActiveSequences = 8 }, Idle() with { ActiveSequences = 8 } };

        Assert.Equal(1, HeadroomRanking.Choose(reports, tolerance: 0.05));
    }

    [Fact]
    public void Equal_headroom_goes_to_the_silo_with_fewest_conversations()
    {
        var reports = new[] { Idle(conversations: 5), Idle(conversations: 2) with { KvBlocksFree = 98 }, Idle(conversations: 3) };

        Assert.Equal(1, HeadroomRanking.Choose(reports, tolerance: 0.05));
    }

    [Fact]
    public void A_silo_still_loading_is_chosen_only_when_no_silo_serves()
    {
        var loading = Idle() with { Accepting = false };

        Assert.Equal(1, HeadroomRanking.Choose([loading, Idle(conversations: 9) with { KvBlocksFree = 10 }], tolerance: 0.05));
        Assert.Equal(1, HeadroomRanking.Choose([loading with { Conversations = 4 }, loading], tolerance: 0.05));
    }

    [Fact]
    public void An_engine_without_a_kv_pool_counts_as_all_free()
    {
        var noPool = Idle() with { KvBlocksTotal = 0, KvBlocksFree = 0 };

        Assert.Equal(1d, noPool.FreeKvShare);
        Assert.Equal(-1, HeadroomRanking.Choose([], tolerance: 0));
    }
}
