using RecurrentDepth.Generation;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Generation;

/// <summary>
/// <see cref="TokenSampler"/> on crafted logits: the filters keep what they promise, draws are reproducible per
/// seed, and the draw frequencies follow the filtered softmax (loose bound: 4,000 draws, each frequency within
/// 0.04 of its probability, more than 5 standard deviations).
/// </summary>
public sealed class TokenSamplerTests
{
    private const int Draws = 4000;
    private const double FrequencyTolerance = 0.04;

    [Theory]
    [InlineData(0)]
    [InlineData(317)]
    [InlineData(511)]
    public void Greedy_picks_the_largest_logit(int planted)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3, CPU);
        // Values in [-1, 1) everywhere except the planted maximum, so the expected id is known without argmax.
        var values = Enumerable.Range(0, 512).Select(i => (i * 37 % 200 - 100) / 100f).ToArray();
        values[planted] = 1.5f;
        Assert.Equal(planted, TokenSampler.Sample(tensor(values), SamplingOptions.Greedy, [], generator));
    }

    [Fact]
    public void Top_k_1_and_min_p_1_always_pick_the_argmax()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(4, CPU);
        var logits = tensor(new float[] { 1.0f, 1.2f, 1.1f, 0.9f });
        var topK = new SamplingOptions { Temperature = 1.5, TopK = 1 }.Validate();
        var minP = new SamplingOptions { Temperature = 1.5, MinP = 1.0 }.Validate();
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(1, TokenSampler.Sample(logits, topK, [], generator));
            Assert.Equal(1, TokenSampler.Sample(logits, minP, [], generator));
        }
    }

    [Fact]
    public void Repetition_penalty_changes_the_choice_in_a_crafted_case()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5, CPU);
        var penalty = new SamplingOptions { RepetitionPenalty = 1.2 }.Validate();

        // Positive logit of a seen token is divided: 2.0 / 1.2 = 1.67 < 1.9.
        var positive = tensor(new float[] { 2.0f, 1.9f, 0.5f });
        Assert.Equal(0, TokenSampler.Sample(positive, SamplingOptions.Greedy, [0], generator));
        Assert.Equal(1, TokenSampler.Sample(positive, penalty, [0], generator));
        Assert.Equal(0, TokenSampler.Sample(positive, penalty, [2], generator));

        // Negative logit of a seen token is multiplied: −1.0 · 1.2 = −1.2 < −1.1.
        var negative = tensor(new float[] { -1.0f, -1.1f, -5.0f });
        Assert.Equal(1, TokenSampler.Sample(negative, penalty, [0, 0], generator));
    }

    [Fact]
    public void Seeded_sampling_is_reproducible()
    {
        using var scope = NewDisposeScope();
        using var logitsGenerator = new Generator(6, CPU);
        var logits = randn(512, generator: logitsGenerator);
        var options = new SamplingOptions { Temperature = 0.8, TopP = 0.9 }.Validate();

        var first = Draw(logits, options, seed: 42, count: 64);
        var again = Draw(logits, options, seed: 42, count: 64);
        var other = Draw(logits, options, seed: 43, count: 64);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Draws_follow_the_softmax_of_a_three_token_logit_vector()
    {
        var counts = Counts([0.5, 0.3, 0.2], new SamplingOptions { Temperature = 1.0 }.Validate());
        AssertFrequencies(counts, [0.5, 0.3, 0.2]);
    }

    [Fact]
    public void Temperature_sharpens_the_distribution()
    {
        // p ∝ (0.5, 0.3, 0.2)^(1/0.5) = (0.25, 0.09, 0.04) / 0.38.
        var counts = Counts([0.5, 0.3, 0.2], new SamplingOptions { Temperature = 0.5 }.Validate());
        AssertFrequencies(counts, [0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38]);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_whose_probability_reaches_p()
    {
        // Sorted probabilities 0.5, 0.3, 0.2: the smallest set reaching 0.6 is {0.5, 0.3}, renormalised to 5/8, 3/8.
        var counts = Counts([0.5, 0.3, 0.2], new SamplingOptions { Temperature = 1.0, TopP = 0.6 }.Validate());
        AssertFrequencies(counts, [0.625, 0.375, 0.0]);

        // p = 0.45 is reached by the top token alone.
        counts = Counts([0.5, 0.3, 0.2], new SamplingOptions { Temperature = 1.0, TopP = 0.45 }.Validate());
        AssertFrequencies(counts, [1.0, 0.0, 0.0]);
    }

    [Fact]
    public void Top_k_and_min_p_drop_the_tail()
    {
        var counts = Counts([0.5, 0.3, 0.2], new SamplingOptions { Temperature = 1.0, TopK = 2 }.Validate());
        AssertFrequencies(counts, [0.625, 0.375, 0.0]);

        // min_p 0.5: keep tokens with p ≥ 0.25 (half the top probability).
        counts = Counts([0.5, 0.3, 0.2], new SamplingOptions { Temperature = 1.0, MinP = 0.5 }.Validate());
        AssertFrequencies(counts, [0.625, 0.375, 0.0]);
    }

    private static int[] Draw(Tensor logits, SamplingOptions options, ulong seed, int count)
    {
        using var generator = new Generator(seed, CPU);
        return Enumerable.Range(0, count).Select(_ => TokenSampler.Sample(logits, options, [], generator)).ToArray();
    }

    private static int[] Counts(double[] probabilities, SamplingOptions options)
    {
        using var scope = NewDisposeScope();
        var logits = tensor(probabilities.Select(p => (float)Math.Log(p)).ToArray());
        var counts = new int[probabilities.Length];
        foreach (int token in Draw(logits, options, seed: 7, count: Draws))
        {
            counts[token]++;
        }

        return counts;
    }

    private static void AssertFrequencies(int[] counts, double[] expected)
    {
        for (int i = 0; i < counts.Length; i++)
        {
            double frequency = (double)counts[i] / Draws;
            Assert.True(Math.Abs(frequency - expected[i]) <= FrequencyTolerance,
                $"token {i}: drawn {counts[i]} of {Draws} times ({frequency:F3}), expected probability {expected[i]:F3} ± {FrequencyTolerance}.");
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"token {i} was filtered out but drawn {counts[i]} times.");
            }
        }
    }
}
