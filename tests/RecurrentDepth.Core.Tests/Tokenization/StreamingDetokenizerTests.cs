using System.Text;
using RecurrentDepth.Tests.TestSupport;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Tests.Tokenization;

public sealed class StreamingDetokenizerTests
{
    private static readonly Lazy<HuginnTokenizer> Shared = new(() => HuginnTokenizer.Load(FixtureCatalog.Tiny));

    private static HuginnTokenizer Tokenizer => Shared.Value;

    [Theory]
    [MemberData(nameof(HuginnTokenizerTests.Texts), MemberType = typeof(HuginnTokenizerTests))]
    public void Streaming_every_prefix_yields_only_whole_characters_and_concatenates_to_decode(string text)
    {
        var ids = Tokenizer.Encode("<|begin_text|>" + text + "<|end_turn|>");
        var decoder = Tokenizer.CreateStreamingDecoder();
        var streamed = new StringBuilder();

        for (var n = 0; n < ids.Count; n++)
        {
            var piece = decoder.Append(ids[n]);
            Assert.DoesNotContain('\uFFFD', piece);
            Assert.False(piece.Length > 0 && char.IsHighSurrogate(piece[^1]), $"Piece after token {n} ends inside a surrogate pair.");
            Assert.False(piece.Length > 0 && char.IsLowSurrogate(piece[0]), $"Piece after token {n} starts inside a surrogate pair.");
            streamed.Append(piece);

            // Everything emitted so far is a prefix of the decode of the ids so far.
            Assert.StartsWith(streamed.ToString(), Tokenizer.Decode(ids.Take(n + 1)), StringComparison.Ordinal);
        }

        streamed.Append(decoder.Flush());
        Assert.Equal(Tokenizer.Decode(ids), streamed.ToString());
        Assert.Equal(0, decoder.PendingByteCount);
    }

    [Fact]
    public void A_character_split_over_tokens_is_held_back_until_it_completes()
    {
        // The fixture has no merges for CJK: each of the three UTF-8 bytes of '世' is its own token.
        var ids = Tokenizer.Encode("世");
        Assert.Equal(3, ids.Count);
        var decoder = Tokenizer.CreateStreamingDecoder();

        Assert.Equal("", decoder.Append(ids[0]));
        Assert.Equal(1, decoder.PendingByteCount);
        Assert.Equal("", decoder.Append(ids[1]));
        Assert.Equal("世", decoder.Append(ids[2]));
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Flush_returns_an_unfinished_character_as_replacement_and_resets()
    {
        var ids = Tokenizer.Encode("😀");
        var decoder = Tokenizer.CreateStreamingDecoder();
        decoder.Append(ids[0]);

        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal(0, decoder.PendingByteCount);
        Assert.Equal("A", decoder.Append(Tokenizer.Encode("A")[0]));
    }

    [Fact]
    public void Skipping_special_tokens_matches_decode_with_skip()
    {
        var ids = Tokenizer.Encode("<|begin_header|>Huginn<|end_header|>\n\nÜber 😀<|end_turn|>");
        var decoder = Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true);

        var streamed = string.Concat(ids.Select(decoder.Append)) + decoder.Flush();

        Assert.Equal("Huginn\n\nÜber 😀", streamed);
        Assert.Equal(Tokenizer.Decode(ids, skipSpecialTokens: true), streamed);
    }

    [Fact]
    public void Append_rejects_ids_outside_the_vocabulary()
    {
        var decoder = Tokenizer.CreateStreamingDecoder();

        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Append(Tokenizer.VocabSize));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Append(-1));
    }
}
