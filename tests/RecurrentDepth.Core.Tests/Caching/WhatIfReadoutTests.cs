using RecurrentDepth.Caching;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Caching;

/// <summary>
/// A what-if row of a <see cref="BatchAttentionStore"/> (the second-to-last recurrence read out beside the last one,
/// for the KL of a fixed-depth token) must give the logits of reading that state out on its own, and must leave the
/// cache exactly as the last state's readout alone leaves it. The reference here is two ordinary readouts in sequence
/// (second-to-last, then last, which overwrites the coda entries the first wrote), as the decoder ran them before.
/// Tolerance: 1e-5 absolute on float32 logits (a two-row batch may round differently from one row).
/// </summary>
public sealed class WhatIfReadoutTests(ITestOutputHelper output)
{
    private const double LogitAtol = 1e-5;
    private const int Steps = 4;

    // 20 prompt tokens: the new token's position (20) is in the second block of every slot.
    private static readonly long[] Prompt = [3, 77, 410, 9, 256, 31, 500, 64, 128, 7, 333, 42, 90, 14, 260, 3, 77, 199, 45, 8];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_what_if_readout_matches_a_readout_alone_and_leaves_the_cache_as_the_last_readout_does(bool script)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        model.UseTorchScript = script;
        using var grad = no_grad();
        using var scope = NewDisposeScope();
        using var pool = new KvBlockPool(model.Config.NHeads, model.Config.HeadDim, model.DType, model.Device);
        using var cache = new SequenceKvCache(model.Config, CacheStrategy.Full, pool);
        var (prior, last) = PrefillThenRecur(model, cache);

        Tensor paired, cacheAfterPaired;
        using (var store = new BatchAttentionStore([cache, cache], [1, 1], shadows: [false, true]))
        {
            paired = model.ReadoutAt(cat([last, prior], 0), [0, 0], new AttentionContext(model.RotationAt([20, 20], 2), store));
            cacheAfterPaired = SequenceEntries(pool);
        }

        var alonePrior = ReadoutAlone(model, cache, prior);
        var aloneLast = ReadoutAlone(model, cache, last);
        var cacheAfterAlone = SequenceEntries(pool);

        double errLast = TensorAssert.MaxAbsError(aloneLast, paired.narrow(0, 0, 1), "last state's logits");
        double errPrior = TensorAssert.MaxAbsError(alonePrior, paired.narrow(0, 1, 1), "second-to-last state's logits");
        output.WriteLine($"script {script}: max abs logit error {errLast:G3} (last), {errPrior:G3} (what-if)");
        Assert.True(errLast <= LogitAtol && errPrior <= LogitAtol, $"max abs logit errors {errLast:G3} (last), {errPrior:G3} (what-if) exceed {LogitAtol}.");
        Assert.True(alonePrior.sub(aloneLast).abs().max().item<float>() > 1e-3f, "the two states' logits are too close to tell apart");
        TensorAssert.Close(cacheAfterAlone, cacheAfterPaired, 1e-6, "every sequence entry of the pool");
        Assert.Equal(21, cache.Length);
    }

    [Fact]
    public void A_what_if_row_needs_an_ordinary_row_of_its_cache_and_room_in_the_scratch_entries()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var pool = new KvBlockPool(model.Config.NHeads, model.Config.HeadDim, model.DType, model.Device);
        using var a = new SequenceKvCache(model.Config, CacheStrategy.Full, pool);
        using var b = new SequenceKvCache(model.Config, CacheStrategy.Full, pool);

        var alone = Assert.Throws<ArgumentException>(() => new BatchAttentionStore([a, b], [1, 1], shadows: [false, true]));
        Assert.Contains("What-if row 1 has no ordinary row of the same cache with 1 new tokens", alone.Message, StringComparison.Ordinal);
        var longer = Assert.Throws<ArgumentException>(() => new BatchAttentionStore([a, a], [1, 2], shadows: [false, true]));
        Assert.Contains("What-if row 1", longer.Message, StringComparison.Ordinal);
        int tooMany = KvBlockPool.ScratchEntries + 1;
        var full = Assert.Throws<ArgumentException>(() => new BatchAttentionStore([a, a], [tooMany, tooMany], shadows: [false, true]));
        Assert.Contains($"What-if rows write {tooMany} new positions; the pool has {KvBlockPool.ScratchEntries} scratch entries", full.Message, StringComparison.Ordinal);
    }

    // Prefills the prompt (full depth, coda included), then runs the new token (id 5 at position 20) through the prelude
    // and Steps recurrences: its states after Steps − 1 and Steps.
    private static (Tensor Prior, Tensor Last) PrefillThenRecur(RavenModel model, SequenceKvCache cache)
    {
        using (var store = new BatchAttentionStore([cache], [Prompt.Length]))
        {
            using var prefill = model.Forward(tensor(Prompt, [1, Prompt.Length]), Steps, initialState: TestStates.RandomS0(model, Prompt.Length, 99),
                positions: arange(0, Prompt.Length, ScalarType.Int64), cache: store);
        }

        using var call = new BatchAttentionStore([cache], [1]);
        var context = new AttentionContext(model.RotationAt([20], 1), call);
        var embedded = model.RunPrelude(model.EmbedChecked(tensor(new long[] { 5 }, [1, 1])), context);
        var state = TestStates.RandomS0(model, 1, 7);
        Tensor prior = state;
        for (int r = 0; r < Steps; r++)
        {
            prior = state;
            state = model.Iterate(state, embedded, r, context);
        }

        return (prior, state);
    }

    private static Tensor ReadoutAlone(RavenModel model, SequenceKvCache cache, Tensor state)
    {
        using var store = new BatchAttentionStore([cache], [1]);
        return model.ReadoutAt(state, [0], new AttentionContext(model.RotationAt([20], 1), store));
    }

    // Everything the pool holds for sequences: the sink block and the blocks after the scratch ones.
    private static Tensor SequenceEntries(KvBlockPool pool)
    {
        long firstSequenceEntry = (1L + KvBlockPool.ScratchBlocks) * KvBlockPool.BlockSize;
        return cat([pool.Storage.narrow(0, 0, KvBlockPool.BlockSize), pool.Storage.narrow(0, firstSequenceEntry, pool.Storage.shape[0] - firstSequenceEntry)], 0).clone();
    }
}
