using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;

namespace RecurrentDepth.Tests.Caching;

/// <summary>Strategy strings round-trip; the cache reports the bytes each strategy keeps per token.</summary>
public sealed class CacheStrategyTests(ITestOutputHelper output)
{
    public static TheoryData<string> ReferenceStrings() =>
    [
        "full", "skip", "latest-m4", "available-m4", "always-last-m4",
        "compress-s4", "compress-s16", "compress-s32", "compress-r2", "compress-anchor",
        "latest-m4-compress-s4", "latest-m4-compress-s16", "available-m4-compress-s16", "always-last-m4-compress-s8",
        "skip-compress-r4", "latest-m4-compress-anchor",
    ];

    [Theory]
    [MemberData(nameof(ReferenceStrings))]
    public void Strategy_strings_round_trip(string text)
    {
        var strategy = CacheStrategy.Parse(text);
        Assert.Equal(text, strategy.ToString());
        Assert.Equal(strategy, CacheStrategy.Parse(strategy.ToString()));
    }

    [Fact]
    public void Parse_accepts_case_and_whitespace_variants_and_an_explicit_full_lookup()
    {
        Assert.Equal(CacheStrategy.Parse("latest-m4-compress-s16"), CacheStrategy.Parse("  Latest-M4-Compress-S16 "));
        var explicitFull = CacheStrategy.Parse("full-compress-s4");
        Assert.Equal(new CacheStrategy(CacheLookup.Full, CacheCompression.Ring, 4), explicitFull);
        Assert.Equal(explicitFull, CacheStrategy.Parse(explicitFull.ToString()));
    }

    [Theory]
    [InlineData("full", 8, 2 + 8 * 4 + 2)]
    [InlineData("full", 4, 2 + 4 * 4 + 2)]
    [InlineData("full", 32, 2 + 32 * 4 + 2)]
    [InlineData("compress-s4", 8, 2 + 4 + 2)]
    [InlineData("compress-s16", 8, 2 + 16 + 2)]
    [InlineData("compress-s16", 32, 2 + 16 + 2)]
    [InlineData("compress-s16", 2, 2 + 8 + 2)]
    [InlineData("latest-m4-compress-s4", 8, 2 + 4 + 2)]
    [InlineData("compress-r4", 8, 2 + 8 + 2)]
    [InlineData("compress-anchor", 12, 2 + 8 * 4 + 4 + 2)]
    public void Bytes_per_token_count_the_slots_the_strategy_keeps(string strategy, int steps, int slots)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(new SequenceOptions
        {
            Prompt = [5, 6, 7, 8, 9],
            Depth = DepthPolicy.Fixed(steps),
            Cache = CacheStrategy.Parse(strategy),
            MaxNewTokens = 4,
        });
        decoder.RunToCompletion();

        // fp32 keys and values: 2 · heads · head_dim · 4 bytes per slot per token.
        long entryBytes = 2L * model.Config.NHeads * model.Config.HeadDim * 4;
        var cache = sequence.Cache;
        output.WriteLine($"{strategy} r={steps}: {cache.SlotCount} slots, {cache.BytesPerToken} B/token ({entryBytes} B per slot), allocated {cache.AllocatedBytes} B for {cache.Length} tokens");
        Assert.Equal(8, cache.Length);
        Assert.Equal(slots, cache.SlotCount);
        Assert.Equal(slots * entryBytes, cache.BytesPerToken);
        Assert.True(cache.AllocatedBytes >= cache.UsedBytes);
    }
}
