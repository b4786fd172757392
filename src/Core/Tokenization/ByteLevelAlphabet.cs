namespace RecurrentDepth.Tokenization;

/// <summary>
/// The GPT-2 byte-to-character table that byte-level BPE vocabularies (Hugging Face <c>ByteLevel</c>, bpeasy exports)
/// spell their tokens in: printable Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100 onwards
/// (space is 'Ġ', newline is 'Ċ').
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    /// <summary>The character that spells <paramref name="value"/> in a byte-level vocabulary.</summary>
    public static char ToChar(byte value) => ByteToChar[value];

    /// <summary>Spells UTF-8 bytes as a byte-level token string.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }

        return new string(chars);
    }

    /// <summary>The bytes a byte-level token string stands for, or <see langword="null"/> when it holds a character outside the alphabet.</summary>
    public static byte[]? TryDecode(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!CharToByte.TryGetValue(token[i], out bytes[i]))
            {
                return null;
            }
        }

        return bytes;
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            // Same ranges as GPT-2's bytes_to_unicode: '!'..'~', '¡'..'¬', '®'..'ÿ' keep their code point.
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }

        return table;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var map = new Dictionary<char, byte>(256);
        for (var b = 0; b < 256; b++)
        {
            map[ByteToChar[b]] = (byte)b;
        }

        return map;
    }
}
