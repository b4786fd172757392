using RecurrentDepth.Engine;
using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;

namespace RecurrentDepth.Tests.Generation;

/// <summary>
/// Sequences decoded together in one <see cref="RecurrentDecoder"/> (different prompt lengths, depth policies,
/// sampling settings and seeds) must produce exactly what each produces alone: same tokens, same steps per token.
/// Rows never see each other's keys and each row draws s0 and samples from its own seeded generator, so the only
/// difference batching may make is float summation order inside batched matmuls; on this fixture that does not
/// move any token, exit decision or multinomial draw, and logits agree within 1e-4.
/// </summary>
public sealed class BatchedGenerationTests(ITestOutputHelper output)
{
    private const double LogitAtol = 1e-4;

    private static readonly SamplingOptions Nucleus = new SamplingOptions { Temperature = 0.8, TopP = 0.9 }.Validate();

    // Prompt lengths 5, 9, 12 and 7; fixed 4, fixed 16, kl exit (paper threshold, cap 32), and sampling at fixed 8.
    private static SequenceOptions[] MixedWorkload(CacheStrategy cache) => [.. MixedWorkload().Select(o => o with { Cache = cache })];

    private static SequenceOptions[] MixedWorkload() =>
    [
        Options(5, seed: 11, DepthPolicy.Fixed(4), maxNew: 24),
        Options(9, seed: 12, DepthPolicy.Fixed(16), maxNew: 6),
        Options(12, seed: 13, new DepthPolicy { MaxSteps = 32, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }.Validate(), maxNew: 12),
        Options(7, seed: 14, DepthPolicy.Fixed(8), maxNew: 10, Nucleus),
    ];

    public static TheoryData<string> CacheLayouts => ["full", "latest-m4", "latest-m4-compress-s16"];

    // full: early-exited tokens leave holes that later tokens skip (masked key positions); latest-m4 fills them from
    // each token's last recurrence; latest-m4-compress-s16 does so in a 16-slot ring.
    [Theory]
    [MemberData(nameof(CacheLayouts))]
    public void Batched_generation_gives_each_sequence_the_tokens_and_steps_it_gets_alone(string cache)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var workload = MixedWorkload(CacheStrategy.Parse(cache));
        var alone = workload.Select(o => RunAlone(model, o)).ToList();

        using var decoder = new RecurrentDecoder(model);
        var batched = workload.Select(decoder.Add).ToList();
        decoder.RunToCompletion();

        for (int i = 0; i < workload.Length; i++)
        {
            AssertSameRun(alone[i], batched[i], $"{cache}: sequence {i} (prompt {workload[i].Prompt.Count})");
        }

        Assert.Contains(batched[2].Generated, g => g.ExitedEarly);
    }

    // The scripted stages attend over the KV pool inside TorchScript (one call per stage); the eager blocks do the same
    // gathers from C#. Both must decode the mixed batch alike under every cache layout.
    [Theory]
    [MemberData(nameof(CacheLayouts))]
    public void Scripted_and_eager_blocks_decode_the_batch_alike_over_the_kv_pool(string cache)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var workload = MixedWorkload(CacheStrategy.Parse(cache));

        List<Run> RunBatch(bool script)
        {
            model.UseTorchScript = script;
            using var decoder = new RecurrentDecoder(model);
            var sequences = workload.Select(decoder.Add).ToList();
            decoder.RunToCompletion();
            return sequences.Select(Run.Of).ToList();
        }

        var eager = RunBatch(script: false);
        var scripted = RunBatch(script: true);
        for (int i = 0; i < workload.Length; i++)
        {
            AssertSameRun(eager[i], scripted[i], $"{cache}: sequence {i}, scripted vs eager");
        }
    }

    [Fact]
    public void Seeded_sampling_is_reproducible_and_independent_of_batch_composition()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var sampled = Options(7, seed: 2024, DepthPolicy.Fixed(8), maxNew: 16, Nucleus);
        var otherSeed = sampled with { Seed = 2025 };

        var first = RunAlone(model, sampled);
        var second = RunAlone(model, sampled);
        Assert.Equal(first.Tokens, second.Tokens);
        Assert.NotEqual(first.Tokens, RunAlone(model, otherSeed).Tokens);

        var workload = MixedWorkload();
        foreach (var companions in new[] { workload[..1], workload[1..3], workload })
        {
            using var decoder = new RecurrentDecoder(model);
            foreach (var c in companions)
            {
                decoder.Add(c);
            }

            var inBatch = decoder.Add(sampled);
            decoder.RunToCompletion();
            AssertSameRun(first, inBatch, $"sampled sequence with {companions.Length} companions");
        }
    }

    [Fact]
    public void Depth_aware_and_lock_step_give_identical_tokens_and_depth_aware_runs_fewer_core_batches()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var workload = MixedWorkload();

        using var aware = new RecurrentDecoder(model, depthAware: true);
        var awareRuns = workload.Select(aware.Add).ToList();
        aware.RunToCompletion();

        using var lockStep = new RecurrentDecoder(model, depthAware: false);
        var lockRuns = workload.Select(lockStep.Add).ToList();
        lockStep.RunToCompletion();

        for (int i = 0; i < workload.Length; i++)
        {
            AssertSameRun(lockRuns[i], awareRuns[i], $"sequence {i}, depth-aware vs lock-step");
        }

        long neededSteps = awareRuns.Sum(s => s.Generated.Sum(g => (long)g.Steps));
        output.WriteLine($"CoreBatches: depth-aware {aware.CoreBatches}, lock-step {lockStep.CoreBatches}; SequenceSteps {aware.SequenceSteps} / {lockStep.SequenceSteps}; steps needed {neededSteps}");
        Assert.True(aware.CoreBatches < lockStep.CoreBatches,
            $"depth-aware ran {aware.CoreBatches} core batches, lock-step {lockStep.CoreBatches}; expected strictly fewer.");

        // Neither mode runs a finished or waiting sequence: the work done is exactly the work the tokens needed.
        Assert.Equal(neededSteps, aware.SequenceSteps);
        Assert.Equal(neededSteps, lockStep.SequenceSteps);
    }

    // Multi-step core calls run the steps that only iterate together. With early exit after a minimum depth the rows'
    // caches get holes that later tokens fill or skip by lookup, and each recurrence of a fused call must see the
    // cache as it would one step at a time (always-last-m4 reads the deepest recurrence present). Each sequence runs
    // alone, where every call fuses (in a batch, the rows' own events cut fused calls short).
    [Theory]
    [InlineData("full")]
    [InlineData("latest-m4")]
    [InlineData("always-last-m4")]
    [InlineData("skip")]
    [InlineData("latest-m4-compress-s16")]
    public void Fused_core_steps_give_the_tokens_steps_and_logits_of_one_step_per_call(string cache)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var kl = new DepthPolicy { MaxSteps = 24, MinSteps = 5, CheckEvery = 3, Criterion = ExitCriterion.Kl, Threshold = 5e-3 }.Validate();
        SequenceOptions[] workload =
        [
            .. MixedWorkload(CacheStrategy.Parse(cache)),
            Options(6, seed: 15, kl, maxNew: 10) with { Cache = CacheStrategy.Parse(cache) },
        ];

        (Run Run, long Calls, long Batches) RunAloneWith(SequenceOptions options, int maxFused)
        {
            using var decoder = new RecurrentDecoder(model) { MaxFusedSteps = maxFused };
            var sequence = decoder.Add(options);
            decoder.RunToCompletion();
            Assert.Null(sequence.Error);
            return (Run.Of(sequence), decoder.CoreCalls, decoder.CoreBatches);
        }

        for (int i = 0; i < workload.Length; i++)
        {
            var single = RunAloneWith(workload[i], 1);
            var fused = RunAloneWith(workload[i], DepthScheduler.MaxFusedSteps);
            AssertSameRun(single.Run, fused.Run, $"{cache}: sequence {i}, fused vs one step per call");
            Assert.Equal(single.Batches, fused.Batches); // the same recurrences, in fewer calls
            Assert.Equal(single.Calls, single.Batches);
            output.WriteLine($"{cache}: sequence {i}, {fused.Calls} core calls fused, {single.Calls} one step per call");
            // A criterion checked from the first step leaves nothing to fuse; every other row's calls fuse.
            bool fuses = workload[i].Depth.Criterion == ExitCriterion.None || workload[i].Depth.MinSteps > 0;
            Assert.True(fuses ? fused.Calls < single.Calls / 2 : fused.Calls == single.Calls,
                $"sequence {i}: {fused.Calls} fused core calls against {single.Calls}; expected {(fuses ? "under half" : "as many")}.");
        }

        var klRun = RunAloneWith(workload[^1], DepthScheduler.MaxFusedSteps).Run;
        Assert.Contains(klRun.Steps, s => s < kl.MaxSteps); // the KL row exited early, leaving holes
    }

    [Fact]
    public void A_fixed_depth_token_runs_its_recurrences_in_as_few_core_calls_as_the_fusion_limit_allows()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(Options(5, seed: 1, DepthPolicy.Fixed(8), maxNew: 5));
        decoder.RunToCompletion();

        // The prompt call: 6 plain steps with its 7th (the convergence prior's readout), then the 8th. Each of the
        // 4 one-token calls: all 8 steps in one call (its readout, with the prior beside it, follows the 8th).
        Assert.Equal(5, sequence.Generated.Count);
        Assert.Equal(5 * 8, decoder.CoreBatches);
        Assert.Equal(2 + 4, decoder.CoreCalls);

        using var deep = new RecurrentDecoder(model);
        deep.Add(Options(5, seed: 1, DepthPolicy.Fixed(32), maxNew: 3));
        deep.RunToCompletion();
        // Prompt: 31 steps in calls of 8, 8, 8, 7 (the prior), then 1; each one-token call: 4 calls of 8.
        Assert.Equal(5 + 2 * 4, deep.CoreCalls);
    }

    // More rows measuring their KL in one readout than the pool has scratch entries: the first 64 read their prior out
    // as what-if rows, the rest in a readout call of their own first. Rows of both kinds must report what they do alone.
    [Fact]
    public void Rows_beyond_the_scratch_entries_measure_the_same_kl_as_alone()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        int count = KvBlockPool.ScratchEntries + 6;
        var workload = Enumerable.Range(0, count).Select(i => Options(4, seed: 200 + i, DepthPolicy.Fixed(3), maxNew: 3)).ToArray();

        using var decoder = new RecurrentDecoder(model);
        var rows = workload.Select(decoder.Add).ToList();
        decoder.RunToCompletion();

        foreach (int i in new[] { 0, KvBlockPool.ScratchEntries - 1, KvBlockPool.ScratchEntries, count - 1 })
        {
            using var alone = new RecurrentDecoder(model);
            var single = alone.Add(workload[i]);
            alone.RunToCompletion();
            AssertSameRun(single, rows[i], $"row {i} of {count}");
            var batched = rows[i].Generated.Select(g => g.ExitValue!.Value).ToArray();
            var expected = single.Generated.Select(g => g.ExitValue!.Value).ToArray();
            for (int t = 0; t < expected.Length; t++)
            {
                Assert.True(Math.Abs(batched[t] - expected[t]) <= 1e-6 + 1e-4 * expected[t],
                    $"row {i}, token {t}: KL {batched[t]:G6} in the batch, {expected[t]:G6} alone.");
            }
        }
    }

    [Fact]
    public void A_finished_sequence_is_never_stepped_again()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var quick = decoder.Add(Options(5, seed: 1, DepthPolicy.Fixed(2), maxNew: 2));
        var slow = decoder.Add(Options(6, seed: 2, DepthPolicy.Fixed(8), maxNew: 6));

        long stepsWhenQuickFinished = -1;
        while (decoder.HasWork)
        {
            decoder.Step();
            if (quick.Phase == SequencePhase.Finished && stepsWhenQuickFinished < 0)
            {
                stepsWhenQuickFinished = decoder.SequenceSteps;
            }
        }

        Assert.Equal(FinishReason.Length, quick.FinishReason);
        Assert.Equal(4, quick.Generated.Sum(g => g.Steps));
        Assert.Equal(48, slow.Generated.Sum(g => g.Steps));
        Assert.Equal(52, decoder.SequenceSteps);
        Assert.True(stepsWhenQuickFinished > 0);
    }

    // Fixed 4 with a full cache stores 20 slots (2 prelude, 4 core x 4 recurrences, 2 coda). The short sequence holds
    // at most 9 positions (one 16-position block per slot: 20 blocks); the long one's 40-token prompt needs 3 blocks
    // per slot (60). A 50-block pool fits the short one but never both, nor the long one next to it.
    [Fact]
    public void A_sequence_that_exhausts_a_bounded_pool_fails_alone_and_the_other_finishes_as_it_does_alone()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var small = Options(5, seed: 31, DepthPolicy.Fixed(4), maxNew: 4);
        var large = Options(40, seed: 32, DepthPolicy.Fixed(4), maxNew: 4);
        var alone = RunAlone(model, small);

        using var pool = new KvBlockPool(model.Config.NHeads, model.Config.HeadDim, model.DType, model.Device, maxBlocks: 50);
        using var decoder = new RecurrentDecoder(model, pool: pool);
        var kept = decoder.Add(small);
        var starved = decoder.Add(large);
        decoder.RunToCompletion();

        Assert.Equal(SequencePhase.Finished, starved.Phase);
        Assert.Null(starved.FinishReason);
        Assert.Contains("all 50 blocks", Assert.IsType<KvPoolExhaustedException>(starved.Error).Message);
        AssertSameRun(alone, kept, "the sequence that fits");
        decoder.Dispose();
        Assert.Equal(50, pool.FreeBlocks); // the failed sequence's partial blocks went back too
    }

    // Rows of different lengths attend over whole blocks, each masked past its own length. A masked key still enters
    // the attention score, so stale contents of a reused block (here NaN, as a failed request may leave) must be
    // zeroed before the block is read; otherwise the short row's output turns NaN.
    [Fact]
    public void Blocks_reused_from_a_failed_request_leave_nothing_behind_in_a_batch_of_different_lengths()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var workload = new[] { Options(5, seed: 41, DepthPolicy.Fixed(4), maxNew: 6), Options(9, seed: 42, DepthPolicy.Fixed(4), maxNew: 6) };
        var alone = workload.Select(o => RunAlone(model, o)).ToList();

        using var pool = new KvBlockPool(model.Config.NHeads, model.Config.HeadDim, model.DType, model.Device);
        var poisoned = Enumerable.Range(0, 200).Select(_ => pool.Allocate()).ToList();
        pool.Storage.narrow(0, KvBlockPool.BlockSize, pool.Storage.shape[0] - KvBlockPool.BlockSize).fill_(float.NaN); // all but the sink
        poisoned.ForEach(pool.Free);

        using var decoder = new RecurrentDecoder(model, pool: pool);
        var batched = workload.Select(decoder.Add).ToList();
        decoder.RunToCompletion();

        for (int i = 0; i < workload.Length; i++)
        {
            Assert.True(batched[i].Error is null, $"sequence {i} failed: {batched[i].Error}");
            AssertSameRun(alone[i], batched[i], $"sequence {i} (prompt {workload[i].Prompt.Count}) over reused blocks");
        }
    }

    private static SequenceOptions Options(int promptLength, long seed, DepthPolicy depth, int maxNew, SamplingOptions? sampling = null) => new()
    {
        Prompt = Enumerable.Range(0, promptLength).Select(i => (int)((seed * 131 + i * 37) % 512)).ToArray(),
        Depth = depth,
        Sampling = sampling ?? SamplingOptions.Greedy,
        MaxNewTokens = maxNew,
        Seed = seed,
        RecordLogits = true,
    };

    private static Run RunAlone(RavenModel model, SequenceOptions options)
    {
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(options);
        decoder.RunToCompletion();
        Assert.True(sequence.Error is null, $"the sequence failed alone: {sequence.Error}");
        return Run.Of(sequence);
    }

    private void AssertSameRun(DecodeSequence expected, DecodeSequence actual, string what) => AssertSameRun(Run.Of(expected), actual, what);

    private void AssertSameRun(Run expected, DecodeSequence actualSequence, string what) => AssertSameRun(expected, Run.Of(actualSequence), what);

    private void AssertSameRun(Run expected, Run actual, string what)
    {
        Assert.True(expected.Tokens.SequenceEqual(actual.Tokens),
            $"{what}: tokens [{string.Join(" ", actual.Tokens)}] differ from [{string.Join(" ", expected.Tokens)}].");
        Assert.True(expected.Steps.SequenceEqual(actual.Steps),
            $"{what}: steps per token [{string.Join(" ", actual.Steps)}] differ from [{string.Join(" ", expected.Steps)}].");
        Assert.Equal(expected.Finish, actual.Finish);
        double worst = 0;
        for (int t = 0; t < expected.Logits.Count; t++)
        {
            worst = Math.Max(worst, expected.Logits[t].Zip(actual.Logits[t], (a, b) => Math.Abs((double)a - b)).Max());
        }

        output.WriteLine($"{what}: steps [{string.Join(" ", actual.Steps)}], max abs logit difference {worst:G3}");
        Assert.True(worst <= LogitAtol, $"{what}: max abs logit difference {worst:G3} exceeds {LogitAtol}.");
    }

    // A finished sequence's results, copied out of tensors so that the decoder that made them can be disposed.
    private sealed record Run(int[] Tokens, int[] Steps, FinishReason? Finish, List<float[]> Logits)
    {
        public static Run Of(DecodeSequence s) => new(
            [.. s.Tokens], [.. s.Generated.Select(g => g.Steps)], s.FinishReason, [.. s.StepLogits.Select(l => l.data<float>().ToArray())]);
    }
}
