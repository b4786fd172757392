using RecurrentDepth.Tests.TestSupport;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Tests.Tokenization;

public sealed class ChatTemplateTests : IDisposable
{
    private const string SpecExample =
        "<|begin_text|><|begin_header|>system<|end_header|>\n\nYou are a helpful assistant.<|end_turn|>" +
        "<|begin_header|>user<|end_header|>\n\nHi<|end_turn|><|begin_header|>Huginn<|end_header|>\n\n";

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "rdsk-tpl-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_temp))
        {
            Directory.Delete(_temp, recursive: true);
        }
    }

    [Fact]
    public void Huginn_template_renders_the_spec_example_exactly()
    {
        var text = ChatTemplate.Huginn.Render([new("system", "You are a helpful assistant."), new("user", "Hi")]);

        Assert.Equal(SpecExample, text);
    }

    [Fact]
    public void Assistant_and_Huginn_roles_render_as_Huginn_and_content_is_trimmed()
    {
        var text = ChatTemplate.Huginn.Render(
            [new("user", "  What is 2+2?\n"), new("assistant", "4"), new("Huginn", "\tSure. "), new("tool", "x")],
            addGenerationPrompt: false);

        Assert.Equal(
            "<|begin_text|><|begin_header|>user<|end_header|>\n\nWhat is 2+2?<|end_turn|>" +
            "<|begin_header|>Huginn<|end_header|>\n\n4<|end_turn|>" +
            "<|begin_header|>Huginn<|end_header|>\n\nSure.<|end_turn|>" +
            "<|begin_header|>tool<|end_header|>\n\nx<|end_turn|><|end_text|>",
            text);
    }

    [Fact]
    public void Empty_conversation_renders_only_the_ending()
    {
        Assert.Equal("<|begin_header|>Huginn<|end_header|>\n\n", ChatTemplate.Huginn.Render([]));
        Assert.Equal("<|end_text|>", ChatTemplate.Huginn.Render([], addGenerationPrompt: false));
    }

    [Fact]
    public void Rendered_chat_encodes_with_one_bos_and_special_ids()
    {
        var tokenizer = HuginnTokenizer.Load(FixtureCatalog.Tiny);

        var ids = tokenizer.Encode(tokenizer.Template.Render([new("user", "Hi")]));

        Assert.Equal(tokenizer.BosId, ids[0]);
        Assert.Single(ids, tokenizer.BosId);
        var lastSpecial = ids.ToList().FindLastIndex(tokenizer.IsSpecial);
        Assert.Equal(tokenizer.TokenToId("<|end_header|>"), ids[lastSpecial]);
        Assert.Equal("\n\n", tokenizer.Decode(ids.Skip(lastSpecial + 1)));
    }

    [Fact]
    public void Fixture_folder_without_override_uses_the_huginn_template()
    {
        Assert.Same(ChatTemplate.Huginn, HuginnTokenizer.Load(FixtureCatalog.Tiny).Template);
    }

    [Fact]
    public void Chat_template_json_in_the_folder_overrides_pieces()
    {
        var folder = FolderWith("""{ "assistant_role": "Muninn", "generation_prompt": "<|begin_header|>Muninn<|end_header|>\n", "header_end": ":\n" }""");

        var tokenizer = HuginnTokenizer.Load(folder);
        var text = tokenizer.Template.Render([new("user", "Hi"), new("assistant", "Hello")]);

        Assert.Equal("<|begin_text|><|begin_header|>user:\nHi<|end_turn|><|begin_header|>Muninn:\nHello<|end_turn|><|begin_header|>Muninn<|end_header|>\n", text);
        Assert.Equal(ChatTemplate.Huginn with { AssistantRole = "Muninn", GenerationPrompt = "<|begin_header|>Muninn<|end_header|>\n", HeaderEnd = ":\n" }, tokenizer.Template);
    }

    [Fact]
    public void Trim_content_can_be_turned_off()
    {
        var template = ChatTemplate.Load(Path.Combine(FolderWith("""{ "trim_content": false, "begin": "" }"""), ChatTemplate.FileName));

        Assert.Equal("<|begin_header|>user<|end_header|>\n\n Hi \n<|end_turn|><|end_text|>", template.Render([new("user", " Hi \n")], addGenerationPrompt: false));
    }

    [Fact]
    public void Transformers_jinja_chat_template_json_is_ignored()
    {
        var folder = FolderWith("""{ "chat_template": "{% for message in messages %}{{ message.content }}{% endfor %}" }""");

        Assert.Same(ChatTemplate.Huginn, ChatTemplate.LoadFromFolder(folder));
    }

    [Theory]
    [InlineData("""{ "assistent_role": "Muninn" }""", "assistent_role")]
    [InlineData("""{ "begin": 1 }""", "begin")]
    [InlineData("""{ "trim_content": "yes" }""", "trim_content")]
    [InlineData("""[ "begin" ]""", "JSON object")]
    [InlineData("""{ "begin": """, "not valid JSON")]
    public void Malformed_override_throws_InvalidDataException_naming_the_field(string json, string expected)
    {
        var folder = FolderWith(json);

        var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.LoadFromFolder(folder));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("chat_template.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_of_a_missing_file_throws_FileNotFoundException_with_the_path()
    {
        var path = Path.Combine(_temp, "nope.json");

        var e = Assert.Throws<FileNotFoundException>(() => ChatTemplate.Load(path));

        Assert.Equal(path, e.FileName);
    }

    [Fact]
    public void Pieces_reject_null()
    {
        Assert.Throws<ArgumentNullException>(() => ChatTemplate.Huginn with { Begin = null! });
        Assert.Throws<ArgumentNullException>(() => ChatTemplate.Huginn.Render(null!));
    }

    private string FolderWith(string chatTemplateJson)
    {
        Directory.CreateDirectory(_temp);
        foreach (var file in Directory.GetFiles(FixtureCatalog.Tiny, "tokenizer*.json"))
        {
            File.Copy(file, Path.Combine(_temp, Path.GetFileName(file)), overwrite: true);
        }

        File.WriteAllText(Path.Combine(_temp, ChatTemplate.FileName), chatTemplateJson);
        return _temp;
    }
}
