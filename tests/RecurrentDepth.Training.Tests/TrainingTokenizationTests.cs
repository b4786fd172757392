using System.Text.Json;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Training.Tests;

/// <summary>
/// The trainer and the evaluator encode through Core's HuginnTokenizer and ChatTemplate over the committed models'
/// files. The ids below are pinned literals: the committed weights were trained on them, so they must never move.
/// </summary>
public sealed class TrainingTokenizationTests
{
    public static TheoryData<string> Tokenizers => ["huginn-micro-arith", "huginn-micro-arith-cot", "fresh micro vocabulary"];

    private static TaskTokenizer Load(string which) => which switch
    {
        "huginn-micro-arith" => TaskTokenizer.Load(CommittedModels.Latent),
        "huginn-micro-arith-cot" => TaskTokenizer.Load(CommittedModels.Cot),
        _ => MicroVocabulary.CreateTokenizer(),
    };

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Task_characters_and_special_tokens_keep_the_ids_the_committed_models_were_trained_on(string which)
    {
        var tokenizer = Load(which);

        Assert.Equal(288, tokenizer.VocabSize);
        Assert.Equal(Enumerable.Range(48, 10), Enumerable.Range(0, 10).Select(tokenizer.DigitId));
        Assert.Equal([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 43, 42, 61, 10], tokenizer.Tokenizer.Encode("0123456789+*=\n"));
        Assert.Equal(256, tokenizer.Tokenizer.BosId);
        Assert.Equal(257, tokenizer.Tokenizer.EosId);
        Assert.Equal(260, tokenizer.EndTurnId);
        Assert.Equal(261, tokenizer.PadId);
        Assert.Equal([256, 257, 258, 259, 260, 261, 287], tokenizer.Tokenizer.Encode(
            "<|begin_text|><|end_text|><|begin_header|><|end_header|><|end_turn|><|pad|><|<<-|>"));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void A_problem_renders_with_huginns_chat_template_to_pinned_prompt_ids(string which)
    {
        var tokenizer = Load(which);
        var problem = new ArithmeticProblem("3+7*9+3=", [3, 3, 0, 0, 0, 0, 3], 3, 3);

        var prompt = tokenizer.EncodePrompt(problem);

        Assert.Equal("<|begin_text|><|begin_header|>user<|end_header|>\n\n3+7*9+3=<|end_turn|><|begin_header|>Huginn<|end_header|>\n\n", tokenizer.RenderPrompt(problem));
        int[] expected =
        [
            256, 258, 117, 115, 101, 114, 259, 10, 10, // <|begin_text|><|begin_header|>user<|end_header|>\n\n
            51, 43, 55, 42, 57, 43, 51, 61, // 3+7*9+3=
            260, 258, 72, 117, 103, 105, 110, 110, 259, 10, 10, // <|end_turn|><|begin_header|>Huginn<|end_header|>\n\n
        ];
        Assert.Equal(expected, prompt.Ids);
        Assert.Equal(9, prompt.ChainStart);
        Assert.Equal(tokenizer.RenderPrompt(problem), tokenizer.Tokenizer.Decode(prompt.Ids));
    }

    [Fact]
    public void The_trainers_prompt_is_the_one_the_engine_renders_for_the_same_chat()
    {
        var tokenizer = HuginnTokenizer.Load(CommittedModels.Latent);
        foreach (var problem in ArithmeticTask.HeldOutDifficulties.SelectMany(k => ArithmeticTask.HeldOut(k).Take(10)))
        {
            var rendered = tokenizer.Template.Render([new ChatTurn("user", problem.Text)]);
            Assert.Equal(tokenizer.Encode(rendered), CommittedModels.Tokenizer.EncodePrompt(problem).Ids);
        }
    }

    [Theory]
    [InlineData("huginn-micro-arith")]
    [InlineData("huginn-micro-arith-cot")]
    public void The_micro_vocabulary_writes_the_committed_models_tokenizer_files_byte_for_byte(string model)
    {
        var scratch = Directory.CreateTempSubdirectory("rd-vocab-test-");
        try
        {
            MicroVocabulary.WriteTo(scratch.FullName);
            foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "chat_template.json" })
            {
                Assert.Equal(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "models", model, file)), File.ReadAllBytes(Path.Combine(scratch.FullName, file)));
            }
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_micro_vocabulary_is_one_token_per_byte_then_huginns_special_tokens()
    {
        using var doc = JsonDocument.Parse(MicroVocabulary.TokenizerJson());
        var model = doc.RootElement.GetProperty("model");
        Assert.Empty(model.GetProperty("merges").EnumerateArray());
        var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(288, vocab.Count);
        Assert.Equal(Enumerable.Range(0, 288), vocab.Values.Order());
        Assert.Equal(65, vocab["A"]);
        Assert.Equal(32, vocab["Ġ"]);
        Assert.Equal(10, vocab["Ċ"]);
        Assert.Equal(256, vocab["<|begin_text|>"]);
        Assert.Equal(287, vocab["<|<<-|>"]);
        Assert.Equal(256, Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ToChar((byte)b)).Distinct().Count());
    }
}
