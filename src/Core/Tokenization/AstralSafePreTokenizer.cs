using Microsoft.ML.Tokenizers;

namespace RecurrentDepth.Tokenization;

/// <summary>
/// Wraps a regex pre-tokenizer so that characters outside the Basic Multilingual Plane (emoji, rarer CJK, math
/// letters) are not lost. Hugging Face tokenizers run the Split regex over Unicode code points, so <c>\p{So}</c> or
/// <c>\p{L}</c> match an emoji or an astral letter; .NET's regex sees their two UTF-16 surrogates, which match no such
/// class, and a Split with <c>invert: true</c> drops whatever it does not match. Each astral code point left
/// between the inner pre-tokenizer's pieces becomes a piece of its own (as a single-code-point match would be);
/// unmatched BMP text is still dropped, as in Hugging Face. A pattern that matches everything is unaffected.
/// </summary>
internal sealed class AstralSafePreTokenizer(PreTokenizer inner) : PreTokenizer
{
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        text is null ? [] : WithAstralGaps(text.AsMemory(), inner.PreTokenize(text));

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var copy = text.ToString();
        return WithAstralGaps(copy.AsMemory(), inner.PreTokenize(copy));
    }

    private static IEnumerable<(int Offset, int Length)> WithAstralGaps(ReadOnlyMemory<char> text, IEnumerable<(int Offset, int Length)> pieces)
    {
        int position = 0;
        foreach (var piece in pieces.OrderBy(p => p.Offset))
        {
            foreach (var gap in AstralCodePoints(text, position, piece.Offset))
            {
                yield return gap;
            }

            yield return piece;
            position = piece.Offset + piece.Length;
        }

        foreach (var gap in AstralCodePoints(text, position, text.Length))
        {
            yield return gap;
        }
    }

    private static IEnumerable<(int Offset, int Length)> AstralCodePoints(ReadOnlyMemory<char> text, int start, int end)
    {
        for (int i = start; i < end - 1; i++)
        {
            var span = text.Span;
            if (char.IsHighSurrogate(span[i]) && char.IsLowSurrogate(span[i + 1]))
            {
                yield return (i, 2);
                i++;
            }
        }
    }
}
