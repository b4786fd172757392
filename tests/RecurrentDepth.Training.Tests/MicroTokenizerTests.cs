using System.Text.Json;

namespace RecurrentDepth.Training.Tests;

public sealed class MicroTokenizerTests
{
    private const string Alphabet = "0123456789+*=userHuginn\n";

    [Fact]
    public void Every_task_character_and_special_token_maps_to_the_same_id_as_tokenizer_json()
    {
        using var doc = JsonDocument.Parse(MicroTokenizer.TokenizerJson());
        var vocab = doc.RootElement.GetProperty("model").GetProperty("vocab");
        Assert.Empty(doc.RootElement.GetProperty("model").GetProperty("merges").EnumerateArray());
        foreach (var c in Alphabet)
        {
            var symbol = MicroTokenizer.ByteSymbol(c);
            Assert.True(vocab.TryGetProperty(symbol, out var id), $"'{symbol}' (for {(int)c}) missing from vocab");
            Assert.Equal(MicroTokenizer.CharId(c), id.GetInt32());
            Assert.Equal([MicroTokenizer.CharId(c)], MicroTokenizer.Encode(c.ToString()));
        }

        var added = doc.RootElement.GetProperty("added_tokens").EnumerateArray().ToList();
        Assert.Equal(32, added.Count);
        foreach (var token in added)
        {
            var content = token.GetProperty("content").GetString()!;
            Assert.Equal(MicroTokenizer.SpecialId(content), token.GetProperty("id").GetInt32());
            Assert.Equal(token.GetProperty("id").GetInt32(), vocab.GetProperty(content).GetInt32());
            Assert.True(token.GetProperty("special").GetBoolean());
            Assert.Equal([MicroTokenizer.SpecialId(content)], MicroTokenizer.Encode(content));
        }

        Assert.Equal(MicroTokenizer.VocabSize, vocab.EnumerateObject().Count());
        Assert.Equal(MicroTokenizer.VocabSize, vocab.EnumerateObject().Select(p => p.Value.GetInt32()).Distinct().Count());
    }

    [Fact]
    public void Byte_symbols_are_gpt2s_reversible_alphabet()
    {
        var symbols = Enumerable.Range(0, 256).Select(MicroTokenizer.ByteSymbol).ToList();
        Assert.Equal(256, symbols.Distinct().Count());
        Assert.Equal("Ġ", MicroTokenizer.ByteSymbol(' '));
        Assert.Equal("Ċ", MicroTokenizer.ByteSymbol('\n'));
        Assert.Equal("A", MicroTokenizer.ByteSymbol('A'));
    }

    [Fact]
    public void Huginn_ids_of_bos_eos_end_turn_and_pad_are_at_256_plus_their_reference_offset()
    {
        Assert.Equal(256, MicroTokenizer.SpecialId("<|begin_text|>"));
        Assert.Equal(257, MicroTokenizer.SpecialId("<|end_text|>"));
        Assert.Equal(260, MicroTokenizer.SpecialId("<|end_turn|>"));
        Assert.Equal(261, MicroTokenizer.SpecialId("<|pad|>"));
        Assert.Equal(287, MicroTokenizer.SpecialId("<|<<-|>"));
    }

    [Fact]
    public void Rendered_prompt_round_trips_and_ends_with_the_assistant_header()
    {
        var problem = ArithmeticTask.HeldOut(3, 1)[0];
        var prompt = ArithmeticTask.RenderPrompt(problem);
        var ids = MicroTokenizer.Encode(prompt);
        Assert.Equal(prompt, MicroTokenizer.Decode(ids));
        Assert.Equal(MicroTokenizer.BeginText, ids[0]);
        Assert.Equal(new[] { MicroTokenizer.EndHeader, '\n', '\n' }, ids.TakeLast(3).ToArray());
    }

    [Fact]
    public void Committed_model_ships_the_generated_tokenizer_files()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");
        Assert.Equal(MicroTokenizer.TokenizerJson() + "\n", File.ReadAllText(Path.Combine(folder, "tokenizer.json")));
        Assert.Equal(MicroTokenizer.TokenizerConfigJson() + "\n", File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")));
    }

    [Fact]
    public void The_engine_tokenizer_and_chat_template_give_the_trainer_exact_prompt_ids()
    {
        // The trainer encodes with MicroTokenizer; the engine with HuginnTokenizer over the committed files. They must agree.
        var tokenizer = RecurrentDepth.Tokenization.HuginnTokenizer.Load(Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith"));
        foreach (var problem in ArithmeticTask.HeldOutDifficulties.SelectMany(k => ArithmeticTask.HeldOut(k).Take(10)))
        {
            var rendered = tokenizer.Template.Render([new RecurrentDepth.Tokenization.ChatTurn("user", problem.Text)]);
            Assert.Equal(ArithmeticTask.RenderPrompt(problem), rendered);
            Assert.Equal(MicroTokenizer.Encode(rendered), tokenizer.Encode(rendered));
        }

        Assert.Equal(MicroTokenizer.EndTurn, tokenizer.EndTurnId);
    }
}
