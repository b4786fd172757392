namespace RecurrentDepth.Training.Tests;

public sealed class ChainOfThoughtFormatTests
{
    // 3 +7 → 0, *9 → 0, +3 → 3: the worked example of the model card.
    private static ArithmeticProblem Example() => new("3+7*9+3=", [3, 3, 0, 0, 0, 0, 3], 3, 3);

    [Fact]
    public void The_response_is_the_running_value_after_each_operation()
    {
        Assert.Equal("003", ChainOfThoughtFormat.Response(Example()));
        Assert.Equal(3, ChainOfThoughtFormat.AnswerOf("003"));
        Assert.Null(ChainOfThoughtFormat.AnswerOf("no digits"));
    }

    [Fact]
    public void Cot_sequence_teaches_each_value_from_the_one_before_and_end_turn_after_the_answer()
    {
        var latent = ArithmeticTask.Tokenize(Example(), CommittedModels.Tokenizer);
        var cot = ChainOfThoughtFormat.Tokenize(Example(), CommittedModels.Tokenizer, AnswerFormat.ChainOfThought);
        int prompt = latent.PromptIds.Count;
        const int zero = 48, three = 51, endTurn = 260;

        Assert.Equal([.. latent.PromptIds, zero, zero, three], cot.Ids);
        Assert.Equal(cot.Ids.Count, cot.Labels.Count);
        Assert.Equal(new[] { zero, zero, three, endTurn }, cot.Labels.Skip(prompt - 1));
        // The answer digit is predicted at the position of the value before it.
        Assert.Equal(prompt + 1, cot.AnswerPosition);
        Assert.Equal(three, cot.Labels[cot.AnswerPosition]);
        // Same dense labels on the chain as the latent recipe; none on the template tokens between '=' and the response.
        Assert.Equal(latent.Labels.Take(prompt - 12), cot.Labels.Take(prompt - 12));
        Assert.All(cot.Labels.Skip(prompt - 12).Take(11), l => Assert.Equal(ArithmeticTask.IgnoreLabel, l));
    }

    [Fact]
    public void Latent_sequence_is_the_prompt_and_the_answer_digit()
    {
        var latent = ArithmeticTask.Tokenize(Example(), CommittedModels.Tokenizer);
        var sequence = ChainOfThoughtFormat.Tokenize(Example(), CommittedModels.Tokenizer, AnswerFormat.Latent);

        Assert.Equal([.. latent.PromptIds, latent.AnswerId], sequence.Ids);
        Assert.Equal(latent.Labels, sequence.Labels);
        Assert.Equal(latent.PromptIds.Count - 1, sequence.AnswerPosition);
    }

    [Fact]
    public void Format_and_fixed_depth_round_trip_through_the_saved_options_and_old_options_still_read()
    {
        var options = new TrainerOptions { Format = AnswerFormat.ChainOfThought, FixedDepth = 1 };

        var read = TrainerOptions.FromJson(options.ToJson());

        Assert.Equal(AnswerFormat.ChainOfThought, read.Format);
        Assert.Equal(1, read.FixedDepth);
        var old = System.Text.Json.Nodes.JsonNode.Parse(new TrainerOptions().ToJson())!.AsObject();
        old.Remove("format");
        old.Remove("fixed_depth");
        var legacy = TrainerOptions.FromJson(old.ToJsonString());
        Assert.Equal(AnswerFormat.Latent, legacy.Format);
        Assert.Null(legacy.FixedDepth);
    }
}
