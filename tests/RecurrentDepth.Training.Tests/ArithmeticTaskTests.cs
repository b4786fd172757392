namespace RecurrentDepth.Training.Tests;

public sealed class ArithmeticTaskTests
{
    [Fact]
    public void Held_out_set_is_the_same_on_every_call_and_differs_between_difficulties()
    {
        var a = ArithmeticTask.HeldOut(6);
        var b = ArithmeticTask.HeldOut(6);
        Assert.Equal(500, a.Count);
        Assert.Equal(a.Select(p => p.Text), b.Select(p => p.Text));
        Assert.All(a, p => Assert.Equal(6, p.Difficulty));
        Assert.All(ArithmeticTask.HeldOut(8, 20), p => Assert.Equal(8 * 2 + 2, p.Text.Length));
    }

    [Fact]
    public void Training_stream_is_deterministic_per_seed_and_separate_from_the_held_out_seed()
    {
        using var first = TrainingBatch.Sample(new Random(5), CommittedModels.Tokenizer, 32, 6);
        using var again = TrainingBatch.Sample(new Random(5), CommittedModels.Tokenizer, 32, 6);
        using var other = TrainingBatch.Sample(new Random(6), CommittedModels.Tokenizer, 32, 6);
        Assert.True(first.Ids.eq(again.Ids).all().item<bool>());
        Assert.Equal(first.Problems.Select(p => p.Text), again.Problems.Select(p => p.Text));
        Assert.NotEqual(first.Problems.Select(p => p.Text), other.Problems.Select(p => p.Text));
        Assert.Equal(first.Labels.shape, first.Ids.shape);
    }

    [Fact]
    public void Answer_is_the_running_value_of_the_chain_mod_10()
    {
        foreach (var p in ArithmeticTask.HeldOut(8, 50))
        {
            int value = p.Text[0] - '0';
            for (int i = 1; i + 1 < p.Text.Length; i += 2)
            {
                int c = p.Text[i + 1] - '0';
                Assert.Contains(c, new[] { 3, 7, 9 });
                value = p.Text[i] == '+' ? (value + c) % 10 : value * c % 10;
            }

            Assert.Equal(value, p.Answer);
            Assert.Equal(value, p.RunningValues[^1]);
        }
    }

    [Fact]
    public void Dense_labels_end_with_the_answer_as_the_first_generated_token_and_end_turn_after_it()
    {
        var problem = ArithmeticTask.Sample(new Random(1), 4);
        var t = ArithmeticTask.Tokenize(problem, CommittedModels.Tokenizer);
        Assert.Equal(t.PromptIds.Count + 1, t.Labels.Count);
        Assert.Equal(t.AnswerId, t.Labels[t.PromptIds.Count - 1]);
        Assert.Equal(260, t.Labels[^1]); // <|end_turn|>
        Assert.Equal(problem.RunningValues.Count + 12 + 1, t.Labels.Count(l => l != ArithmeticTask.IgnoreLabel));
    }

    [Fact]
    public void Depth_draws_have_the_configured_mean_and_split_into_no_grad_and_grad_steps()
    {
        var random = new Random(3);
        var draws = Enumerable.Range(0, 20_000).Select(_ => DepthSampler.Sample(random, 8)).ToList();
        Assert.All(draws, r => Assert.True(r >= 1));
        Assert.InRange(draws.Average(), 8.6, 9.4); // E[Poisson(λ)] + 1 with E[λ] = 8
        Assert.Equal((6, 4), DepthSampler.Split(10, 4));
        Assert.Equal((0, 3), DepthSampler.Split(3, 4));
    }
}
