using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;

namespace RecurrentDepth.Tests.Engine;

/// <summary>
/// Multi-turn prefix reuse: a prompt that continues a finished conversation takes over its key/value cache (every
/// recurrence slot) and prefills only what is new; the result is exactly that conversation's sequence continued.
/// </summary>
public sealed class PrefixReuseTests
{
    private const int Depth = 32;
    private static readonly int[] FirstPrompt = [1, 5, 9, 13, 17];

    private static EngineOptions Options(bool prefixCache = true) => new()
    {
        ModelPath = FixtureCatalog.Tiny,
        Device = "cpu",
        DType = "float32",
        MaxBatch = 4,
        PrefixCacheEnabled = prefixCache,
    };

    private static GenerationRequest Turn(IReadOnlyList<int> prompt, int seed) => new()
    {
        PromptTokens = prompt,
        Depth = DepthPolicy.Fixed(Depth),
        MaxNewTokens = 3,
        IgnoreEndOfTurn = true,
        Seed = seed,
    };

    private static async Task<(List<GeneratedToken> Tokens, GenerationSummary Summary, long Prefilled)> Run(InferenceEngine engine, GenerationRequest request)
    {
        long before = engine.PrefilledTokens;
        var tokens = new List<GeneratedToken>();
        GenerationSummary? summary = null;
        await foreach (var update in engine.GenerateAsync(request))
        {
            if (update.Token is { } token)
            {
                tokens.Add(token);
            }

            summary ??= update.Summary;
        }

        Assert.NotNull(summary);
        return (tokens, summary!, engine.PrefilledTokens - before);
    }

    [Fact]
    public async Task Second_and_third_turns_at_r32_prefill_only_their_new_tokens_and_equal_one_continued_sequence()
    {
        using var engine = InferenceEngine.Load(Options());
        var turn1 = Turn(FirstPrompt, seed: 11);
        var (g1, s1, prefilled1) = await Run(engine, turn1);
        Assert.Equal((0, FirstPrompt.Length), (s1.CachedInputTokens, (int)prefilled1));
        Assert.Equal(1, engine.PrefixCacheEntries);
        Assert.True(engine.PrefixCacheBytes > 0);

        // The next turn re-sends the conversation (prompt and answer) and adds new tokens.
        int[] p2 = [.. FirstPrompt, .. g1.Select(t => t.TokenId), 21, 25, 29];
        var turn2 = Turn(p2, seed: 12);
        var (g2, s2, prefilled2) = await Run(engine, turn2);
        // The last answer token was sampled but never fed to the model: it is prefilled with the new ones.
        int cached2 = FirstPrompt.Length + g1.Count - 1;
        Assert.Equal((cached2, p2.Length - cached2), (s2.CachedInputTokens, (int)prefilled2));
        Assert.Equal(4, prefilled2);

        int[] p3 = [.. p2, .. g2.Select(t => t.TokenId), 33, 37];
        var turn3 = Turn(p3, seed: 13);
        var (g3, s3, prefilled3) = await Run(engine, turn3);
        int cached3 = p2.Length + g2.Count - 1;
        Assert.Equal((cached3, 3), (s3.CachedInputTokens, (int)prefilled3));
        Assert.Equal(p3.Length, s3.InputTokens);

        // The reference: one decoder sequence that ran turn 1, then was continued with turn 2's and turn 3's new tokens.
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var first = decoder.Add(engine.BuildSequenceOptions(turn1));
        decoder.RunToCompletion();
        var second = decoder.Add(engine.BuildSequenceOptions(turn2), decoder.Release(first, keepCache: true));
        decoder.RunToCompletion();
        var third = decoder.Add(engine.BuildSequenceOptions(turn3), decoder.Release(second, keepCache: true));
        decoder.RunToCompletion();

        Assert.Equal(first.Generated, g1);
        Assert.Equal(second.Generated, g2);
        Assert.Equal(third.Generated, g3);
        Assert.Equal(FirstPrompt.Length + 4 + 3, decoder.PrefilledTokens);
        Assert.Equal(third.Cache.Length, engine.BuildSequenceOptions(turn3).Prompt.Count + g3.Count - 1);
    }

    [Fact]
    public async Task Without_the_prefix_cache_every_turn_prefills_its_whole_prompt()
    {
        using var engine = InferenceEngine.Load(Options(prefixCache: false));
        var (g1, _, _) = await Run(engine, Turn(FirstPrompt, seed: 11));
        int[] p2 = [.. FirstPrompt, .. g1.Select(t => t.TokenId), 21];
        var (_, s2, prefilled2) = await Run(engine, Turn(p2, seed: 12));

        Assert.Equal((0, p2.Length), (s2.CachedInputTokens, (int)prefilled2));
        Assert.Equal((0, 0L), (engine.PrefixCacheEntries, engine.PrefixCacheBytes));
    }

    [Fact]
    public async Task The_same_request_again_is_not_a_continuation_and_gives_the_same_tokens()
    {
        using var engine = InferenceEngine.Load(Options());
        var request = Turn(FirstPrompt, seed: 11);
        var (first, _, _) = await Run(engine, request);
        var (again, summary, prefilled) = await Run(engine, request);

        Assert.Equal((0, FirstPrompt.Length), (summary.CachedInputTokens, (int)prefilled));
        Assert.Equal(first, again);
    }

    [Fact]
    public async Task A_turn_ended_by_a_stop_string_caches_the_conversation_only_up_to_the_stop()
    {
        // The free-running answer comes from another engine, so its conversation is not in this engine's cache.
        (List<GeneratedToken> Tokens, GenerationSummary Summary, long Prefilled) free;
        using (var probe = InferenceEngine.Load(Options()))
        {
            free = await Run(probe, Turn(FirstPrompt, seed: 11) with { MaxNewTokens = 6 });
        }

        using var engine = InferenceEngine.Load(Options());
        string text = engine.Tokenizer.Decode([free.Tokens[1].TokenId]);
        Assert.False(string.IsNullOrEmpty(text), "pick a prompt whose second token has text");

        // Stop at the second token's text: the response keeps two tokens, the cache the prompt and the first one.
        var stopped = await Run(engine, Turn(FirstPrompt, seed: 11) with { MaxNewTokens = 6, StopSequences = [text] });
        Assert.Equal(FinishReason.Stop, stopped.Summary.FinishReason);
        Assert.Equal(free.Tokens.Take(stopped.Tokens.Count), stopped.Tokens);
        int kept = stopped.Tokens.Count;

        int[] next = [.. FirstPrompt, .. stopped.Tokens.Select(t => t.TokenId), 21];
        var (_, summary, prefilled) = await Run(engine, Turn(next, seed: 12));
        // The device thread may or may not have fed the last kept token before the stop reached it (the stop string is
        // matched off the device thread), so the cache holds the prompt plus kept - 1 or kept tokens: never a token after the stop.
        Assert.InRange(summary.CachedInputTokens, FirstPrompt.Length + kept - 1, FirstPrompt.Length + kept);
        Assert.Equal(next.Length, summary.CachedInputTokens + (int)prefilled);
    }
}
