using RecurrentDepth.Caching;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Caching;

/// <summary>
/// A prompt fed in chunks through a <see cref="SequenceKvCache"/> (the second chunk attends to the cached first one
/// with the causal mask aligned bottom-right) must give the logits of one pass over the whole prompt. Both use the
/// same s0 per position. Only uncompressed strategies qualify: under compression the second chunk reads the first
/// chunk's last recurrence at every depth, by design. Tolerance: 1e-4 absolute on float32 logits.
/// </summary>
public sealed class ChunkedPrefillTests(ITestOutputHelper output)
{
    private const double LogitAtol = 1e-4;
    private const int Steps = 4;
    private static readonly long[] Prompt = [3, 77, 410, 9, 256, 31, 500, 64, 128, 7, 333, 42];

    [Theory]
    [InlineData("full")]
    [InlineData("latest-m4")]
    public void Chunked_prefill_8_plus_4_matches_the_single_pass(string strategy)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var grad = no_grad();
        using var scope = NewDisposeScope();
        var s0 = TestStates.RandomS0(model, Prompt.Length, 99);
        var ids = tensor(Prompt, [1, Prompt.Length]);
        using var single = model.Forward(ids, Steps, initialState: s0);

        using var cache = new SequenceKvCache(model.Config, CacheStrategy.Parse(strategy), model.DType, model.Device);
        using var first = RunChunk(model, cache, ids, s0, start: 0, count: 8);
        using var second = RunChunk(model, cache, ids, s0, start: 8, count: 4);

        Assert.Equal(12, cache.Length);
        double errFirst = TensorAssert.MaxAbsError(single.Logits.narrow(1, 0, 8), first.Logits, "chunk 0..7 logits");
        double errSecond = TensorAssert.MaxAbsError(single.Logits.narrow(1, 8, 4), second.Logits, "chunk 8..11 logits");
        output.WriteLine($"{strategy}: max abs logit error, chunk 0..7 {errFirst:G3}, chunk 8..11 {errSecond:G3}");
        Assert.True(errFirst <= LogitAtol, $"chunk 0..7: max abs logit error {errFirst:G3} exceeds {LogitAtol}.");
        Assert.True(errSecond <= LogitAtol, $"chunk 8..11: max abs logit error {errSecond:G3} exceeds {LogitAtol}.");
    }

    [Fact]
    public void Two_sequences_chunked_together_at_different_cache_lengths_match_their_single_passes()
    {
        // Second chunks of two prompts (after 8 and 5 cached tokens) share one call: keys are padded to the longer
        // row and each row gets its own bottom-right causal mask.
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var grad = no_grad();
        using var scope = NewDisposeScope();
        long[] other = [90, 14, 260, 3, 77, 199, 45, 8, 300];
        var idsA = tensor(Prompt, [1, Prompt.Length]);
        var idsB = tensor(other, [1, other.Length]);
        var s0A = TestStates.RandomS0(model, Prompt.Length, 99);
        var s0B = TestStates.RandomS0(model, other.Length, 99).flip(1);
        using var singleA = model.Forward(idsA, Steps, initialState: s0A);
        using var singleB = model.Forward(idsB, Steps, initialState: s0B);

        using var pool = new KvBlockPool(model.Config.NHeads, model.Config.HeadDim, model.DType, model.Device);
        using var cacheA = new SequenceKvCache(model.Config, CacheStrategy.Full, pool);
        using var cacheB = new SequenceKvCache(model.Config, CacheStrategy.Full, pool);
        using var firstA = RunChunk(model, cacheA, idsA, s0A, start: 0, count: 8);
        using var firstB = RunChunk(model, cacheB, idsB, s0B, start: 0, count: 5);

        var ids = cat([idsA.narrow(1, 8, 4), idsB.narrow(1, 5, 4)], 0);
        var s0 = cat([s0A.narrow(1, 8, 4), s0B.narrow(1, 5, 4)], 0);
        var positions = stack([arange(8, 12, ScalarType.Int64), arange(5, 9, ScalarType.Int64)]);
        using var store = new BatchAttentionStore([cacheA, cacheB], [4, 4]);
        using var together = model.Forward(ids, Steps, initialState: s0, positions: positions, cache: store);

        double errA = TensorAssert.MaxAbsError(singleA.Logits.narrow(1, 8, 4), together.Logits.narrow(0, 0, 1), "row A positions 8..11");
        double errB = TensorAssert.MaxAbsError(singleB.Logits.narrow(1, 5, 4), together.Logits.narrow(0, 1, 1), "row B positions 5..8");
        output.WriteLine($"two rows chunked together: max abs logit error {errA:G3} (A), {errB:G3} (B)");
        Assert.True(errA <= LogitAtol && errB <= LogitAtol, $"max abs logit errors {errA:G3} (A), {errB:G3} (B) exceed {LogitAtol}.");
    }

    [Fact]
    public void Truncate_forgets_the_last_positions_and_a_rerun_reproduces_them()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var grad = no_grad();
        using var scope = NewDisposeScope();
        var s0 = TestStates.RandomS0(model, Prompt.Length, 99);
        var ids = tensor(Prompt, [1, Prompt.Length]);
        using var cache = new SequenceKvCache(model.Config, CacheStrategy.Full, model.DType, model.Device);
        using var all = RunChunk(model, cache, ids, s0, start: 0, count: 12);
        long bytesAt12 = cache.UsedBytes;
        double perToken = cache.BytesPerToken;

        cache.Truncate(4);

        Assert.Equal(8, cache.Length);
        Assert.Equal(bytesAt12 / 12 * 8, cache.UsedBytes);
        Assert.Equal(perToken, cache.BytesPerToken);
        Assert.Equal(0, cache.RecurrencesAt(8));
        Assert.Equal(Steps, cache.RecurrencesAt(7));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Truncate(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Truncate(-1));

        using var rerun = RunChunk(model, cache, ids, s0, start: 8, count: 4);
        Assert.Equal(12, cache.Length);
        Assert.Equal(bytesAt12, cache.UsedBytes);
        TensorAssert.Close(all.Logits.narrow(1, 8, 4), rerun.Logits, LogitAtol, "logits of positions 8..11 after truncate and rerun");
    }

    // Positions start .. start + count − 1 through a one-row BatchAttentionStore over the cache.
    private static RavenOutput RunChunk(RavenModel model, SequenceKvCache cache, Tensor ids, Tensor s0, int start, int count)
    {
        using var store = new BatchAttentionStore([cache], [count]);
        return model.Forward(ids.narrow(1, start, count), Steps, initialState: s0.narrow(1, start, count),
            positions: arange(start, start + count, ScalarType.Int64), cache: store);
    }
}
