using System.Text.Json.Nodes;
using RecurrentDepth.Tests.TestSupport;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Tests.Tokenization;

public sealed class HuginnTokenizerTests : IDisposable
{
    private static readonly Lazy<HuginnTokenizer> Shared = new(() => HuginnTokenizer.Load(FixtureCatalog.Tiny));

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "rdsk-tok-" + Guid.NewGuid().ToString("N"));

    private static HuginnTokenizer Tokenizer => Shared.Value;

    public static TheoryData<string> Texts() => new()
    {
        "Hello, world!",
        "Grüße aus Köln: Straße, Äpfel, Öl und Übermut.",
        "Καλημέρα κόσμε· η γλώσσα είναι ελληνική;",
        "你好，世界。我们在测试分词器。",
        "مرحبا بالعالم، هذا اختبار.",
        "def f(x):\n    return {\"a\": [1, 2, 3]}[x]  # comment\n",
        "for (var i = 0; i < 10; i++) { sum += a[i] * 31415926; }",
        "Emoji: 😀👍🏽 family 👨‍👩‍👧‍👦 flag 🇩🇪 heart ❤️",
        "tabs\t\tand   spaces    and\n\n\nnewlines\r\n end  ",
        "   leading and trailing   ",
        "\n",
        "it's, they're, we've, I'm, you'll, he'd",
        "Mixed 日本語 and English and Ελληνικά and العربية 123 456",
        "",
    };

    public void Dispose()
    {
        if (Directory.Exists(_temp))
        {
            Directory.Delete(_temp, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Decode_of_encode_returns_the_text(string text)
    {
        var ids = Tokenizer.Encode(text);

        Assert.Equal(text, Tokenizer.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, Tokenizer.VocabSize - 1));
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Decode_agrees_with_Microsoft_ML_Tokenizers(string text)
    {
        var ids = Tokenizer.Encode("<|begin_text|>" + text + "<|end_turn|>");

        Assert.Equal(Tokenizer.Inner.Decode(ids, considerSpecialTokens: true), Tokenizer.Decode(ids));
    }

    [Fact]
    public void Digits_are_encoded_one_per_token()
    {
        var ids = Tokenizer.Encode("2025");

        Assert.Equal(["2", "0", "2", "5"], ids.Select(Tokenizer.IdToToken));
    }

    [Fact]
    public void Special_token_strings_in_text_map_to_their_ids()
    {
        var ids = Tokenizer.Encode("<|begin_header|>user<|end_header|>\n\nHi<|end_turn|>");

        Assert.Equal(Tokenizer.TokenToId("<|begin_header|>"), ids[0]);
        Assert.Contains(Tokenizer.TokenToId("<|end_header|>")!.Value, ids);
        Assert.Equal(Tokenizer.EndTurnId, ids[^1]);
        Assert.Equal(3, ids.Count(Tokenizer.IsSpecial));
        Assert.Equal("user\n\nHi", Tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Add_special_tokens_wraps_in_begin_and_end_text()
    {
        var plain = Tokenizer.Encode("Hi there");
        var wrapped = Tokenizer.Encode("Hi there", addSpecialTokens: true);

        Assert.Equal([Tokenizer.BosId, .. plain, Tokenizer.EosId], wrapped);
        Assert.Equal("<|begin_text|>Hi there<|end_text|>", Tokenizer.Decode(wrapped));
        Assert.Equal("Hi there", Tokenizer.Decode(wrapped, skipSpecialTokens: true));
    }

    [Fact]
    public void Special_ids_are_read_from_the_files()
    {
        Assert.Equal(480, Tokenizer.BosId);
        Assert.Equal(481, Tokenizer.EosId);
        Assert.Equal(484, Tokenizer.EndTurnId);
        Assert.Equal(485, Tokenizer.PadId);
        Assert.Equal(new HashSet<int> { 480, 481, 484 }, Tokenizer.StopTokenIds);
        Assert.Null(Tokenizer.TokenToId("<|no_such_token|>"));
        Assert.Null(Tokenizer.IdToToken(512));
        Assert.Null(Tokenizer.IdToToken(-1));
    }

    [Fact]
    public void Tokenizer_config_names_the_special_tokens()
    {
        var folder = CopyFixture();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, HuginnTokenizer.ConfigFileName)))!;
        config["eos_token"] = new JsonObject { ["content"] = "<|end_turn|>" };
        config["pad_token"] = "<|fim_pad|>";
        File.WriteAllText(Path.Combine(folder, HuginnTokenizer.ConfigFileName), config.ToJsonString());

        var tokenizer = HuginnTokenizer.Load(folder);

        Assert.Equal(484, tokenizer.EosId);
        Assert.Equal(489, tokenizer.PadId);
        Assert.Equal(480, tokenizer.BosId);
    }

    [Fact]
    public void Loads_without_tokenizer_config()
    {
        var folder = CopyFixture();
        File.Delete(Path.Combine(folder, HuginnTokenizer.ConfigFileName));

        var tokenizer = HuginnTokenizer.Load(folder);

        Assert.Equal(Tokenizer.BosId, tokenizer.BosId);
        Assert.Equal(Tokenizer.EosId, tokenizer.EosId);
        Assert.Equal(Tokenizer.PadId, tokenizer.PadId);
    }

    [Fact]
    public void Merges_in_array_form_encode_the_same()
    {
        var folder = CopyFixture();
        var json = ReadTokenizerJson(folder);
        var merges = json["model"]!["merges"]!.AsArray();
        var pairs = merges.Select(m => m!.GetValue<string>().Split(' ')).ToList();
        merges.Clear();
        foreach (var pair in pairs)
        {
            merges.Add(new JsonArray(pair[0], pair[1]));
        }

        WriteTokenizerJson(folder, json);
        var tokenizer = HuginnTokenizer.Load(folder);

        foreach (string text in Texts())
        {
            Assert.Equal(Tokenizer.Encode(text), tokenizer.Encode(text));
        }
    }

    [Fact]
    public void Added_tokens_match_longest_first_and_count_in_the_vocab_size()
    {
        var folder = CopyFixture();
        var json = ReadTokenizerJson(folder);
        var added = json["added_tokens"]!.AsArray();
        added.Add(new JsonObject { ["id"] = 512, ["content"] = "zz", ["special"] = false });
        added.Add(new JsonObject { ["id"] = 513, ["content"] = "zzz", ["special"] = false });
        WriteTokenizerJson(folder, json);

        var tokenizer = HuginnTokenizer.Load(folder);
        var ids = tokenizer.Encode("azzzzb");

        Assert.Equal(514, tokenizer.VocabSize);
        Assert.Equal(513, ids[1]);
        Assert.Equal("azzzzb", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.False(tokenizer.IsSpecial(513));
    }

    [Fact]
    public void Missing_tokenizer_json_throws_FileNotFoundException_with_the_path()
    {
        Directory.CreateDirectory(_temp);

        var e = Assert.Throws<FileNotFoundException>(() => HuginnTokenizer.Load(_temp));

        Assert.Equal(Path.Combine(_temp, "tokenizer.json"), e.FileName);
        Assert.Contains(e.FileName!, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model", "vocab")]
    [InlineData("model", "merges")]
    [InlineData(null, "pre_tokenizer")]
    [InlineData(null, "model")]
    public void Missing_field_throws_InvalidDataException_naming_file_and_field(string? parent, string field)
    {
        var folder = CopyFixture();
        var json = ReadTokenizerJson(folder);
        (parent is null ? json : json[parent]!).AsObject().Remove(field);
        WriteTokenizerJson(folder, json);

        var e = Assert.Throws<InvalidDataException>(() => HuginnTokenizer.Load(folder));

        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{(parent is null ? field : parent + "." + field)}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("merge with unknown token", "model.merges[0]")]
    [InlineData("merge without space", "model.merges[1]")]
    [InlineData("vocab id not a number", "model.vocab[\"!\"]")]
    [InlineData("unsupported pre-tokenizer", "pre_tokenizer")]
    [InlineData("bad regex", "pre_tokenizer.pretokenizers[0].pattern.Regex")]
    [InlineData("normalizer", "normalizer")]
    [InlineData("template names unknown token", "post_processor.single")]
    public void Malformed_tokenizer_json_throws_InvalidDataException_naming_the_field(string corruption, string field)
    {
        var folder = CopyFixture();
        var json = ReadTokenizerJson(folder);
        switch (corruption)
        {
            case "merge with unknown token": json["model"]!["merges"]![0] = "Ġ 乱"; break;
            case "merge without space": json["model"]!["merges"]![1] = "ab"; break;
            case "vocab id not a number": json["model"]!["vocab"]!["!"] = "zero"; break;
            case "unsupported pre-tokenizer": json["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" }; break;
            case "bad regex": json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "(unclosed"; break;
            case "normalizer": json["normalizer"] = new JsonObject { ["type"] = "NFC" }; break;
            case "template names unknown token":
                json["post_processor"]!.AsObject().Remove("special_tokens");
                json["post_processor"]!["single"]![0]!["SpecialToken"]!["id"] = "<|nope|>";
                break;
        }

        WriteTokenizerJson(folder, json);

        var e = Assert.Throws<InvalidDataException>(() => HuginnTokenizer.Load(folder));

        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{field}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_json_that_is_not_json_throws_InvalidDataException()
    {
        var folder = CopyFixture();
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "{ \"model\": ");

        var e = Assert.Throws<InvalidDataException>(() => HuginnTokenizer.Load(folder));

        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_naming_a_missing_token_throws_InvalidDataException()
    {
        var folder = CopyFixture();
        File.WriteAllText(Path.Combine(folder, HuginnTokenizer.ConfigFileName), "{\"bos_token\": \"<s>\"}");

        var e = Assert.Throws<InvalidDataException>(() => HuginnTokenizer.Load(folder));

        Assert.Contains("<s>", e.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer_config.json bos_token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([1, 512]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
    }

    private string CopyFixture()
    {
        Directory.CreateDirectory(_temp);
        foreach (var file in Directory.GetFiles(FixtureCatalog.Tiny, "tokenizer*.json"))
        {
            File.Copy(file, Path.Combine(_temp, Path.GetFileName(file)));
        }

        return _temp;
    }

    [Fact]
    public void Characters_outside_the_BMP_survive_a_split_regex_written_for_code_points()
    {
        // Huginn-style patterns use Unicode classes such as \p{So} and \p{L}, which Hugging Face applies to code points.
        // .NET applies them to UTF-16 units, where an emoji's surrogates match nothing, and Split(invert) drops non-matches.
        const string pattern = @"\p{L}+|\p{N}|\s+|[\p{P}\p{S}]+|\p{So}";
        const string text = "Hi 😀 there 𝒜 ok 👍🏽!";
        Assert.NotEqual(text, string.Concat(System.Text.RegularExpressions.Regex.Matches(text, pattern).Select(m => m.Value)));

        var folder = CopyFixture();
        var json = ReadTokenizerJson(folder);
        json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = pattern;
        WriteTokenizerJson(folder, json);
        var tokenizer = HuginnTokenizer.Load(folder);

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    private static JsonNode ReadTokenizerJson(string folder) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer.json")))!;

    private static void WriteTokenizerJson(string folder, JsonNode json) =>
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), json.ToJsonString());
}
