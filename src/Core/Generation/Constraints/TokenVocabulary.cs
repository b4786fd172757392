using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// What constrained decoding precomputes once per vocabulary: each token's bytes, the byte trie of all tokens, and
/// the masks of tokens that are plain JSON string content (whole UTF-8 characters, no quote, backslash or control
/// character), bucketed by their character count, so that a step inside a string costs a mask copy plus a walk of
/// the few tokens that can end or escape it.
/// </summary>
public sealed class TokenVocabulary
{
    private TokenVocabulary(int size, byte[]?[] tokenBytes, IReadOnlyList<int> endIds)
    {
        Size = size;
        Words = (size + 63) / 64;
        TokenBytes = tokenBytes;
        EndIds = [.. endIds.Where(id => (uint)id < (uint)size)];
        var plainChars = new int[tokenBytes.Length];
        var all = new List<(int, byte[])>();
        var nonPlain = new List<(int, byte[])>();
        var suffixes = new List<(int, byte[])>();
        int maxPlain = 0;
        for (int id = 0; id < tokenBytes.Length; id++)
        {
            if (tokenBytes[id] is not { Length: > 0 } bytes)
            {
                continue;
            }

            all.Add((id, bytes));
            plainChars[id] = PlainCharCount(bytes);
            if (plainChars[id] > 0)
            {
                maxPlain = Math.Max(maxPlain, plainChars[id]);
            }
            else
            {
                nonPlain.Add((id, bytes));
                suffixes.Add((id, bytes[PlainPrefixLength(bytes)..]));
            }
        }

        All = TokenTrie.Build(all);
        NonPlain = TokenTrie.Build(nonPlain);
        NonPlainSuffixes = TokenTrie.Build(suffixes);
        MaxPlainChars = maxPlain;
        PlainUpTo = new ulong[maxPlain + 1][];
        for (int r = 0; r <= maxPlain; r++)
        {
            var mask = new ulong[Words];
            for (int id = 0; id < tokenBytes.Length; id++)
            {
                if (plainChars[id] is > 0 and var k && k <= r)
                {
                    Set(mask, id);
                }
            }

            PlainUpTo[r] = mask;
        }

        AnyText = new ulong[Words];
        TextStart = new ulong[Words];
        foreach (var (id, bytes) in all)
        {
            Set(AnyText, id);
            if (bytes[0] is not ((byte)'{' or (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                Set(TextStart, id);
            }
        }
    }

    /// <summary>Mask length in token ids (the model's vocabulary size).</summary>
    public int Size { get; }

    /// <summary>Mask length in 64-bit words.</summary>
    public int Words { get; }

    /// <summary>Each id's bytes; null for special tokens and ids the tokenizer does not spell.</summary>
    internal byte[]?[] TokenBytes { get; }

    /// <summary>Ids that end a turn; allowed exactly when the output is complete.</summary>
    internal int[] EndIds { get; }

    /// <summary>Whether <paramref name="tokenId"/> is one of the end-of-turn tokens.</summary>
    internal bool IsEnd(int tokenId) => Array.IndexOf(EndIds, tokenId) >= 0;

    /// <summary>Allows every end-of-turn token in <paramref name="words"/> (a constraint whose value is complete).</summary>
    internal void AllowEnds(Span<ulong> words)
    {
        foreach (int id in EndIds)
        {
            Set(words, id);
        }
    }

    /// <summary>Trie of every token with bytes.</summary>
    internal TokenTrie All { get; }

    /// <summary>Trie of the tokens that are not plain string content (they close, escape or split a character).</summary>
    internal TokenTrie NonPlain { get; }

    /// <summary>
    /// The same tokens cut after their plain-content prefix: inside a string whose length no longer matters, the prefix
    /// leaves the state as it was, so only the rest needs walking (and tokens that share a rest share the walk).
    /// </summary>
    internal TokenTrie NonPlainSuffixes { get; }

    /// <summary>Character count of the longest plain-content token.</summary>
    internal int MaxPlainChars { get; }

    /// <summary><c>PlainUpTo[r]</c>: the plain-content tokens of at most <c>r</c> characters.</summary>
    internal ulong[][] PlainUpTo { get; }

    /// <summary>Every token with bytes (free text).</summary>
    internal ulong[] AnyText { get; }

    /// <summary>Tokens free text may start with: not white space and not <c>{</c> (which starts a tool call).</summary>
    internal ulong[] TextStart { get; }

    /// <summary>Builds the vocabulary of <paramref name="tokenizer"/> for a model of <paramref name="modelVocabSize"/> ids.</summary>
    public static TokenVocabulary FromTokenizer(HuginnTokenizer tokenizer, int modelVocabSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(modelVocabSize, tokenizer.VocabSize);
        var bytes = new byte[]?[modelVocabSize];
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (!tokenizer.IsSpecial(id) && tokenizer.IdToToken(id) is { } token)
            {
                bytes[id] = ByteLevelAlphabet.TryDecode(token);
            }
        }

        return new TokenVocabulary(modelVocabSize, bytes, [tokenizer.EndTurnId, tokenizer.EosId]);
    }

    /// <summary>Builds a vocabulary from raw token bytes (null: a special token), e.g. a synthetic one for benchmarks.</summary>
    /// <param name="tokenBytes">Bytes of each id.</param>
    /// <param name="endIds">Ids that end a turn.</param>
    public static TokenVocabulary FromBytes(IReadOnlyList<byte[]?> tokenBytes, IReadOnlyList<int> endIds)
    {
        ArgumentNullException.ThrowIfNull(tokenBytes);
        ArgumentNullException.ThrowIfNull(endIds);
        return new TokenVocabulary(tokenBytes.Count, [.. tokenBytes], endIds);
    }

    internal static void Set(Span<ulong> words, int id) => words[id >> 6] |= 1UL << (id & 63);

    internal static bool IsSet(ReadOnlySpan<ulong> words, int id) => (words[id >> 6] >> (id & 63) & 1UL) != 0;

    // Bytes of the longest prefix that is whole characters of plain string content.
    private static int PlainPrefixLength(byte[] bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            byte b = bytes[i];
            int length = b < 0x80 ? (b < 0x20 || b == '"' || b == '\\' ? 0 : 1) : Utf8.SequenceLength(bytes.AsSpan(i));
            if (length == 0)
            {
                break;
            }

            i += length;
        }

        return i;
    }

    // Characters in a token that is whole UTF-8 characters of plain string content; 0 when it is not.
    private static int PlainCharCount(byte[] bytes)
    {
        int chars = 0;
        for (int i = 0; i < bytes.Length;)
        {
            byte b = bytes[i];
            if (b < 0x80)
            {
                if (b < 0x20 || b == '"' || b == '\\')
                {
                    return 0;
                }

                i++;
            }
            else
            {
                int length = Utf8.SequenceLength(bytes.AsSpan(i));
                if (length == 0)
                {
                    return 0;
                }

                i += length;
            }

            chars++;
        }

        return chars;
    }
}
