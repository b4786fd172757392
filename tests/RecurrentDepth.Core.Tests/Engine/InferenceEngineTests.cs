using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Tests.Engine;

public sealed class InferenceEngineTests
{
    private static EngineOptions Options(int maxBatch = 8, int maxQueue = 64) => new()
    {
        ModelPath = FixtureCatalog.Tiny,
        Device = TestDevice.Name,
        DType = "float32",
        MaxBatch = maxBatch,
        MaxQueue = maxQueue,
    };

    private static GenerationRequest Request(string text, int steps, long seed, int maxTokens = 12, ExitCriterion criterion = ExitCriterion.None) => new()
    {
        Messages = [new ChatTurn("user", text)],
        Depth = new DepthPolicy { MaxSteps = steps, Criterion = criterion, Threshold = criterion == ExitCriterion.None ? null : 5e-4 },
        Sampling = new SamplingOptions { Temperature = 0.8, TopP = 0.95 },
        MaxNewTokens = maxTokens,
        Seed = seed,
    };

    private static async Task<(string Text, GenerationSummary Summary, List<GeneratedToken> Tokens)> Collect(IInferenceEngine engine, GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var text = new System.Text.StringBuilder();
        var tokens = new List<GeneratedToken>();
        GenerationSummary? summary = null;
        await foreach (var update in engine.GenerateAsync(request, cancellationToken))
        {
            text.Append(update.TextDelta);
            if (update.Token is { } token)
            {
                tokens.Add(token);
            }

            summary ??= update.Summary;
        }

        Assert.NotNull(summary);
        return (text.ToString(), summary!, tokens);
    }

    [Fact]
    public async Task A_chat_request_streams_text_and_reports_the_depth_it_ran()
    {
        using var engine = InferenceEngine.Load(Options());
        var (text, summary, tokens) = await Collect(engine, Request("Hello there", steps: 4, seed: 1));

        Assert.Equal(tokens.Count, summary.OutputTokens);
        Assert.True(summary.OutputTokens is > 0 and <= 12);
        Assert.All(tokens, t => Assert.Equal(4, t.Steps));
        Assert.Equal(4, summary.MaxSteps);
        Assert.Equal(1.0, summary.CapHitShare);
        var expectedPrompt = engine.Tokenizer.Encode(engine.Tokenizer.Template.Render([new ChatTurn("user", "Hello there")]));
        Assert.Equal(expectedPrompt.Count, summary.InputTokens);
        Assert.Equal(engine.Tokenizer.Decode(tokens.Select(t => t.TokenId), skipSpecialTokens: true), text);
        Assert.True(summary.EffectiveFlops > 0);
    }

    [Fact]
    public async Task Concurrent_seeded_requests_give_exactly_what_each_gives_alone()
    {
        var requests = Enumerable.Range(0, 32)
            .Select(i => Request($"Question {i}: what is {i} plus {i}?", steps: (i % 3) switch { 0 => 4, 1 => 8, _ => 16 }, seed: 100 + i, criterion: i % 2 == 0 ? ExitCriterion.Kl : ExitCriterion.None))
            .ToList();

        using var alone = InferenceEngine.Load(Options(maxBatch: 1));
        var expected = new List<string>();
        foreach (var request in requests)
        {
            expected.Add((await Collect(alone, request)).Text);
        }

        using var shared = InferenceEngine.Load(Options(maxBatch: 8));
        var together = await Task.WhenAll(requests.Select(r => Collect(shared, r)));
        Assert.Equal(expected, together.Select(t => t.Text).ToList());
    }

    [Fact]
    public async Task Depth_aware_scheduling_needs_fewer_batched_steps_than_lock_step_for_mixed_efforts()
    {
        var requests = Enumerable.Range(0, 8)
            .Select(i => Request($"Task {i}", steps: i % 2 == 0 ? 2 : 24, seed: i, maxTokens: 6) with { Sampling = SamplingOptions.Greedy })
            .ToList();
        var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var tokenizer = HuginnTokenizer.Load(FixtureCatalog.Tiny);
        long Run(bool depthAware, out List<string> texts)
        {
            using var engine = new InferenceEngine(model, tokenizer, Options(maxBatch: 4), depthAwareScheduling: depthAware);
            texts = Task.WhenAll(requests.Select(r => Collect(engine, r))).GetAwaiter().GetResult().Select(t => t.Text).ToList();
            return engine.CoreBatches;
        }

        long depthAwareBatches = Run(true, out var depthAwareTexts);
        long lockStepBatches = Run(false, out var lockStepTexts);
        model.Dispose();

        Assert.Equal(lockStepTexts, depthAwareTexts);
        Assert.True(depthAwareBatches < lockStepBatches, $"depth-aware {depthAwareBatches} batched steps, lock-step {lockStepBatches}");
    }

    [Fact]
    public async Task Cancelling_mid_generation_stops_the_request_and_the_next_one_succeeds()
    {
        using var engine = InferenceEngine.Load(Options());
        using var cts = new CancellationTokenSource();
        int received = 0;
        // Ignore end-of-turn: the request must still be running when the caller cancels after its second token.
        var longRequest = Request("Tell me a long story", steps: 32, seed: 3, maxTokens: 200) with { IgnoreEndOfTurn = true };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in engine.GenerateAsync(longRequest, cts.Token))
            {
                if (update.Token is not null && ++received == 2)
                {
                    cts.Cancel();
                }
            }
        });

        Assert.Equal(2, received);
        var (_, summary, _) = await Collect(engine, Request("Next", steps: 2, seed: 4, maxTokens: 3));
        Assert.Equal(3, summary.OutputTokens);
        // The cancellation was queued before the next request, and the engine handles cancellations before it admits:
        // once the next request has finished, no sequence is left, without waiting.
        Assert.Equal(0, engine.ActiveSequences);
        Assert.Equal(0, engine.CurrentLoad.ActiveSequences);
        // The cancelled request stopped early: far fewer than its 200 tokens were generated (3 are the next request's).
        long cancelledTokens = engine.GeneratedTokens - summary.OutputTokens;
        Assert.InRange(cancelledTokens, 2, 199);
    }

    [Fact]
    public async Task A_full_queue_rejects_at_once_with_a_specific_error()
    {
        using var engine = InferenceEngine.Load(Options(maxBatch: 1, maxQueue: 1));
        // Hold the engine thread in the first request's first step: the batch of one stays full, so the second request
        // stays in the queue of one whatever the machine's speed, and the third finds the queue full.
        using var holding = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        engine.FaultInjection = _ =>
        {
            if (!release.IsSet)
            {
                holding.Release();
                release.Wait();
            }
        };
        using var cts = new CancellationTokenSource();
        var first = engine.GenerateAsync(Request("long", steps: 4, seed: 1, maxTokens: 4), cts.Token).GetAsyncEnumerator(cts.Token);
        var firstMove = first.MoveNextAsync();
        var second = engine.GenerateAsync(Request("queued", steps: 1, seed: 2, maxTokens: 1), cts.Token).GetAsyncEnumerator(cts.Token);
        try
        {
            await holding.WaitAsync();
            var secondFirstMove = second.MoveNextAsync(); // enqueued behind the first
            var ex = await Assert.ThrowsAsync<EngineQueueFullException>(async () =>
            {
                await foreach (var _ in engine.GenerateAsync(Request("rejected", steps: 1, seed: 3, maxTokens: 1)))
                {
                }
            });
            Assert.Equal(1, ex.Capacity);
            Assert.Contains("queue is full", ex.Message, StringComparison.Ordinal);
            cts.Cancel();
            release.Set();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await secondFirstMove);
        }
        finally
        {
            release.Set();
            try
            {
                await firstMove; // a token or the cancellation, depending on where the step was held: either is fine here
            }
            catch (OperationCanceledException)
            {
            }

            await first.DisposeAsync();
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_bad_request_fails_alone_and_the_engine_keeps_serving()
    {
        using var engine = InferenceEngine.Load(Options());
        var tooLong = new GenerationRequest { PromptTokens = Enumerable.Repeat(5, engine.ModelConfig.BlockSize).ToArray(), MaxNewTokens = 4 };
        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await Collect(engine, tooLong));
        Assert.Contains("context limit", ex.Message, StringComparison.Ordinal);

        var badToken = new GenerationRequest { PromptTokens = [1, 2, engine.ModelConfig.VocabSize + 7], MaxNewTokens = 4 };
        var tokenError = await Assert.ThrowsAsync<ArgumentException>(async () => await Collect(engine, badToken));
        Assert.Contains("outside the vocabulary", tokenError.Message, StringComparison.Ordinal);

        var invalid = Request("x", steps: 4, seed: 1) with { Sampling = new SamplingOptions { TopP = 1.5 } };
        var settingError = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Collect(engine, invalid));
        Assert.Equal("top_p", settingError.ParamName);

        var (_, summary, _) = await Collect(engine, Request("still here?", steps: 2, seed: 9, maxTokens: 3));
        Assert.Equal(3, summary.OutputTokens);
    }

    [Fact]
    public async Task Stop_sequences_end_the_response_before_the_stop_text()
    {
        using var engine = InferenceEngine.Load(Options());
        var baseline = await Collect(engine, Request("Say something", steps: 4, seed: 11, maxTokens: 24));
        Assert.True(baseline.Text.Length >= 4, $"baseline text '{baseline.Text}' is too short to pick a stop sequence from");
        var stop = baseline.Text.Substring(baseline.Text.Length / 2, 2);
        int at = baseline.Text.IndexOf(stop, StringComparison.Ordinal);

        var stopped = await Collect(engine, Request("Say something", steps: 4, seed: 11, maxTokens: 24) with { StopSequences = [stop] });
        Assert.Equal(baseline.Text[..at], stopped.Text);
        Assert.Equal(FinishReason.Stop, stopped.Summary.FinishReason);
    }

    [Fact]
    public async Task A_request_the_model_fails_on_fails_alone_and_its_batch_mates_are_unaffected()
    {
        int[] poison = [13, 17, 19, 23, 29, 31];
        var clean = Enumerable.Range(0, 4).Select(i => Request($"Batch mate {i}", steps: 4 + 4 * i, seed: 50 + i, maxTokens: 8)).ToList();
        using var reference = InferenceEngine.Load(Options(maxBatch: 1));
        var expected = new List<string>();
        foreach (var request in clean)
        {
            expected.Add((await Collect(reference, request)).Text);
        }

        using var engine = InferenceEngine.Load(Options(maxBatch: 8));
        // Simulates a model failure (e.g. out of memory) that only this request's inputs trigger.
        engine.FaultInjection = rows =>
        {
            if (rows.Any(r => r.Tokens.Take(poison.Length).SequenceEqual(poison)))
            {
                throw new InvalidOperationException("injected failure");
            }
        };
        var poisoned = Collect(engine, new GenerationRequest { PromptTokens = poison, MaxNewTokens = 8 });
        var results = clean.Select(r => Collect(engine, r)).ToList();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => poisoned);
        Assert.Contains("injected failure", error.Message, StringComparison.Ordinal);
        Assert.Equal(expected, (await Task.WhenAll(results)).Select(r => r.Text).ToList());
        var (_, after, _) = await Collect(engine, Request("after", steps: 2, seed: 1, maxTokens: 2));
        Assert.Equal(2, after.OutputTokens);
    }

    [Fact]
    public async Task Stopping_drains_in_flight_requests_and_refuses_new_ones()
    {
        using var engine = InferenceEngine.Load(Options());
        var inFlight = engine.GenerateAsync(Request("drain me", steps: 4, seed: 1, maxTokens: 6)).GetAsyncEnumerator();
        Assert.True(await inFlight.MoveNextAsync()); // admitted and producing

        var stopping = engine.StopAsync(CancellationToken.None);
        var rest = new List<GenerationUpdate> { inFlight.Current };
        while (await inFlight.MoveNextAsync())
        {
            rest.Add(inFlight.Current);
        }

        await stopping;
        Assert.Equal(FinishReason.Length, rest.Last().Summary!.FinishReason);
        Assert.Equal(EngineState.Stopped, engine.State);
        await Assert.ThrowsAsync<ModelNotReadyException>(async () => await Collect(engine, Request("too late", steps: 1, seed: 2)));
    }

    [Fact]
    public async Task Stopping_with_an_expired_deadline_ends_in_flight_requests_as_cancelled()
    {
        using var engine = InferenceEngine.Load(Options());
        // Ignore end-of-turn: the request must still be running when the engine stops. With seed 1 the model emits
        // end-of-turn within the 500 tokens, and a fast enough decode then finished with Stop before StopAsync took effect.
        var inFlight = engine.GenerateAsync(Request("long", steps: 32, seed: 1, maxTokens: 500) with { IgnoreEndOfTurn = true }).GetAsyncEnumerator();
        Assert.True(await inFlight.MoveNextAsync());

        await engine.StopAsync(new CancellationToken(canceled: true));
        GenerationSummary? summary = null;
        while (await inFlight.MoveNextAsync())
        {
            summary ??= inFlight.Current.Summary;
        }

        // The caller did not cancel, so its stream ends normally, with the finish reason saying what happened.
        Assert.NotNull(summary);
        Assert.Equal(FinishReason.Cancelled, summary!.FinishReason);
        Assert.True(summary.OutputTokens < 500);
    }

    [Fact]
    public async Task The_engine_generates_in_bf16_with_the_same_depth_accounting()
    {
        using var engine = InferenceEngine.Load(Options() with { DType = "bfloat16" });
        var fixedDepth = await Collect(engine, Request("bf16 please", steps: 6, seed: 1, maxTokens: 5));
        var adaptive = await Collect(engine, Request("bf16 please", steps: 16, seed: 1, maxTokens: 5, criterion: ExitCriterion.Kl));

        Assert.Equal(5, fixedDepth.Summary.OutputTokens);
        Assert.All(fixedDepth.Tokens, t => Assert.Equal(6, t.Steps));
        Assert.All(adaptive.Tokens, t => Assert.InRange(t.Steps, 1, 16));
        Assert.Equal(adaptive.Tokens.Count(t => !t.ExitedEarly), adaptive.Summary.CapHitTokens);
        // bf16 K+V: 2 × 4 heads × 16 × 2 B = 256 B per slot; prelude 2 + core 4·6 + coda 2 slots per token.
        Assert.Equal((2 + 4 * 6 + 2) * 256.0, fixedDepth.Summary.KvBytesPerToken);
    }
}
