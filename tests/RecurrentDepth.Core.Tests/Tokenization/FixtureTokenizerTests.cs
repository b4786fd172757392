using RecurrentDepth.Tests.TestSupport;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Tests.Tokenization;

/// <summary>
/// Provenance of tests/fixtures/huginn-tiny/tokenizer*.json: <see cref="FixtureTokenizerBuilder"/> regenerates them
/// byte for byte. To regenerate after an intended change, set RDSK_REGENERATE_TOKENIZER_FIXTURE to the fixture folder
/// (tests/fixtures/huginn-tiny) and run these tests.
/// </summary>
public sealed class FixtureTokenizerTests : IDisposable
{
    public const string RegenerateVariable = "RDSK_REGENERATE_TOKENIZER_FIXTURE";

    private readonly string _temp = Path.Combine(Path.GetTempPath(), "rdsk-tok-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_temp))
        {
            Directory.Delete(_temp, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData(HuginnTokenizer.TokenizerFileName)]
    [InlineData(HuginnTokenizer.ConfigFileName)]
    public void Builder_regenerates_the_committed_fixture_byte_for_byte(string file)
    {
        // Rewriting the fixture and then comparing against it could not fail, so a regenerating run checks nothing:
        // it writes the files and skips; the next run without the variable compares.
        if (Environment.GetEnvironmentVariable(RegenerateVariable) is { Length: > 0 } target)
        {
            FixtureTokenizerBuilder.Write(target);
            throw new SkipException($"Rewrote the tokenizer fixture in {target}; run again without {RegenerateVariable} to verify it.");
        }

        FixtureTokenizerBuilder.Write(_temp);
        var expected = File.ReadAllBytes(Path.Combine(FixtureCatalog.Tiny, file));
        var actual = File.ReadAllBytes(Path.Combine(_temp, file));
        Assert.True(expected.AsSpan().SequenceEqual(actual),
            $"Regenerated {file} ({actual.Length} bytes) differs from the committed one ({expected.Length} bytes); set {RegenerateVariable} to rewrite it.");
    }

    [Fact]
    public void Fixture_has_512_ids_with_huginn_special_tokens_on_top_in_huginn_order()
    {
        var tokenizer = HuginnTokenizer.Load(FixtureCatalog.Tiny);

        Assert.Equal(512, tokenizer.VocabSize);
        for (var i = 0; i < HuginnSpecialTokens.All.Count; i++)
        {
            Assert.Equal(480 + i, tokenizer.TokenToId(HuginnSpecialTokens.All[i]));
            Assert.True(tokenizer.IsSpecial(480 + i));
        }

        Assert.Equal("Ġ", tokenizer.IdToToken(' '));
        Assert.All(Enumerable.Range(0, 480), id => Assert.False(tokenizer.IsSpecial(id)));
        Assert.All(Enumerable.Range(0, 512), id => Assert.NotNull(tokenizer.IdToToken(id)));
    }

    [Fact]
    public void Fixture_merges_compress_the_training_text()
    {
        var tokenizer = HuginnTokenizer.Load(FixtureCatalog.Tiny);
        var text = "The tokenizer splits the text into tokens.";

        var ids = tokenizer.Encode(text);

        Assert.True(ids.Count < text.Length / 2, $"{ids.Count} tokens for {text.Length} characters: the merges do not apply.");
        Assert.Contains(ids, id => id >= 256);
    }
}
