using RecurrentDepth.Generation;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Generation;

/// <summary>
/// Incremental decoding through the slot-addressed cache must give what a cache-less forward pass over the whole
/// growing sequence gives, when every position starts from the same s0 in both (zero, or one fixed random tensor).
/// Tolerance: next-token logits within 1e-4 absolute (float32 on CPU; the two paths differ only in summation order).
/// </summary>
public sealed class CachedDecodingTests(ITestOutputHelper output)
{
    private const double LogitAtol = 1e-4;
    private const int NewTokens = 8;
    private static readonly int[] Prompt = [17, 301, 5, 88, 240, 12];

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    public void Cached_greedy_decoding_matches_uncached_recomputation_with_zero_s0(int steps) =>
        AssertCachedMatchesUncached(steps, s0: null);

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Cached_greedy_decoding_matches_uncached_recomputation_with_a_fixed_random_s0(int steps)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var s0 = TestStates.RandomS0(model, Prompt.Length + NewTokens, 1234);
        AssertCachedMatchesUncached(steps, s0);
    }

    private void AssertCachedMatchesUncached(int steps, Tensor? s0)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(new SequenceOptions
        {
            Prompt = Prompt,
            Depth = DepthPolicy.Fixed(steps) with { InitScale = 0 },
            MaxNewTokens = NewTokens,
            RecordLogits = true,
            InitialStates = s0 is null ? null : (start, count) => s0.narrow(1, start, count).clone(),
        });
        decoder.RunToCompletion();

        Assert.Equal(NewTokens, sequence.Generated.Count);
        double worst = 0;
        using var grad = no_grad();
        for (int t = 0; t < NewTokens; t++)
        {
            using var scope = NewDisposeScope();
            int length = Prompt.Length + t;
            var ids = tensor(sequence.Tokens.Take(length).Select(x => (long)x).ToArray(), [1, length]);
            using var uncached = model.Forward(ids, steps, initialState: s0?.narrow(1, 0, length), initScale: 0);
            var expected = uncached.Logits[0, -1];
            int expectedToken = (int)expected.argmax().item<long>();
            Assert.True(expectedToken == sequence.Generated[t].TokenId,
                $"token {t}: cached decoding chose {sequence.Generated[t].TokenId}, the uncached forward pass {expectedToken}.");
            worst = Math.Max(worst, TensorAssert.MaxAbsError(expected, sequence.StepLogits[t], $"token {t} logits"));
        }

        output.WriteLine($"r={steps}, s0={(s0 is null ? "zero" : "fixed random")}: max abs logit error {worst:G3} over {NewTokens} tokens");
        Assert.True(worst <= LogitAtol, $"max abs logit error {worst:G3} exceeds {LogitAtol}.");
    }
}
