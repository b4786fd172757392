using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;
using RecurrentDepth.Tokenization;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Engine;

public sealed class InferenceEngineEdgeCaseTests
{
    private static EngineOptions Options(string? path = null) => new()
    {
        ModelPath = path ?? FixtureCatalog.Tiny,
        Device = TestDevice.Name,
        DType = "float32",
        MaxBatch = 4,
        MaxQueue = 16,
    };

    private static GenerationRequest Greedy(string text, int maxTokens, IReadOnlyList<string>? stops = null) => new()
    {
        Messages = [new ChatTurn("user", text)],
        Depth = new DepthPolicy { MaxSteps = 4 },
        Sampling = SamplingOptions.Greedy,
        MaxNewTokens = maxTokens,
        StopSequences = stops ?? [],
        Seed = 7,
    };

    private static async Task<(List<string> Deltas, GenerationSummary Summary)> Collect(IInferenceEngine engine, GenerationRequest request)
    {
        var deltas = new List<string>();
        GenerationSummary? summary = null;
        await foreach (var update in engine.GenerateAsync(request))
        {
            if (update.Token is not null)
            {
                deltas.Add(update.TextDelta);
            }
            else if (update.TextDelta.Length > 0)
            {
                deltas.Add(update.TextDelta);
            }

            summary ??= update.Summary;
        }

        Assert.NotNull(summary);
        return (deltas, summary!);
    }

    [Fact]
    public async Task Of_several_stop_sequences_the_earliest_in_the_text_ends_the_response()
    {
        using var engine = InferenceEngine.Load(Options());
        // Find a token whose text holds two characters that first appear there: listing the later one first must still
        // cut the response at the earlier one.
        foreach (var prompt in new[] { "Say something", "Hello there", "Count to ten", "Tell me a story" })
        {
            var (deltas, _) = await Collect(engine, Greedy(prompt, maxTokens: 32));
            string full = string.Concat(deltas);
            int offset = 0;
            foreach (var delta in deltas)
            {
                for (int j = 0; j < delta.Length; j++)
                {
                    for (int k = j + 1; k < delta.Length; k++)
                    {
                        char a = delta[j], b = delta[k];
                        if (a != b && full.IndexOf(a) == offset + j && full.IndexOf(b) == offset + k)
                        {
                            var (stopped, summary) = await Collect(engine, Greedy(prompt, maxTokens: 32, stops: [b.ToString(), a.ToString()]));
                            Assert.Equal(full[..(offset + j)], string.Concat(stopped));
                            Assert.Equal(FinishReason.Stop, summary.FinishReason);
                            return;
                        }
                    }
                }

                offset += delta.Length;
            }
        }

        Assert.Fail("No generated token held two fresh characters; pick other prompts.");
    }

    [Fact]
    public async Task A_sampled_id_beyond_the_tokenizer_streams_no_text_and_the_engine_keeps_serving()
    {
        // A checkpoint whose embedding (and tied head) is padded past the tokenizer, as padded_vocab_size allows. The new
        // rows score ±x along two directions, far above any real row, so greedy decoding picks an id the tokenizer lacks.
        using var temp = new TempFolder();
        const int padded = 640;
        TestCheckpoints.WriteFixtureCopy(temp.Path, tensors => tensors
            .Where(t => t.Key != "lm_head.weight")
            .Select(t => t.Key == "transformer.wte.weight" ? new KeyValuePair<string, Tensor>(t.Key, PaddedEmbedding(t.Value, padded)) : t)
            .ToList(), config => { config["padded_vocab_size"] = padded; config["vocab_size"] = padded; });
        using var model = FixtureCatalog.LoadModel(temp.Path);
        var tokenizer = HuginnTokenizer.Load(FixtureCatalog.Tiny);
        Assert.True(model.Config.VocabSize > tokenizer.VocabSize);
        using var engine = new InferenceEngine(model, tokenizer, Options(temp.Path));

        var (deltas, summary) = await Collect(engine, Greedy("Hello there", maxTokens: 3));

        Assert.Equal(3, summary.OutputTokens);
        Assert.Equal(FinishReason.Length, summary.FinishReason);
        Assert.Equal("", string.Concat(deltas));
        var (_, again) = await Collect(engine, Greedy("Still serving?", maxTokens: 2));
        Assert.Equal(2, again.OutputTokens);
    }

    private static Tensor PaddedEmbedding(Tensor wte, int padded)
    {
        var extra = zeros(padded - wte.shape[0], wte.shape[1]);
        var even = ones(wte.shape[1]);
        var alternating = even.clone();
        alternating[TensorIndex.Slice(1, null, 2)] = -1;
        extra[0] = even * 50;
        extra[1] = even * -50;
        extra[2] = alternating * 50;
        extra[3] = alternating * -50;
        return cat([wte, extra], 0);
    }

    [Fact]
    public async Task A_cancelled_stream_yields_no_more_tokens_even_when_the_engine_is_ahead_of_the_reader()
    {
        using var engine = InferenceEngine.Load(Options());
        using var cts = new CancellationTokenSource();
        var stream = engine.GenerateAsync(Greedy("Tell me a long story", maxTokens: 6), cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await stream.MoveNextAsync());
        // Let the engine run ahead: the rest of the response is waiting in the stream when the caller cancels.
        Assert.True(SpinWait.SpinUntil(() => engine.GeneratedTokens == 6 && engine.ActiveSequences == 0, TimeSpan.FromSeconds(60)));

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.MoveNextAsync());
        await stream.DisposeAsync();
    }
}
