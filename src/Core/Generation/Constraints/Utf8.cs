namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// Well-formed UTF-8 byte by byte (RFC 3629): which bytes may follow a lead byte. Grammars keep the pending count and
/// the range of the next byte as a small code, so a state can stand between two bytes of one character.
/// </summary>
internal static class Utf8
{
    // Range codes for the next continuation byte.
    public const int AnyContinuation = 0; // 80..BF
    public const int AfterE0 = 1;         // A0..BF
    public const int AfterED = 2;         // 80..9F
    public const int AfterF0 = 3;         // 90..BF
    public const int AfterF4 = 4;         // 80..8F

    /// <summary>For a lead byte ≥ 0x80: continuation bytes still needed (0 when not a lead byte) and the next byte's range.</summary>
    public static (int Pending, int Range) Lead(byte b) => b switch
    {
        >= 0xC2 and <= 0xDF => (1, AnyContinuation),
        0xE0 => (2, AfterE0),
        0xED => (2, AfterED),
        >= 0xE1 and <= 0xEF => (2, AnyContinuation),
        0xF0 => (3, AfterF0),
        >= 0xF1 and <= 0xF3 => (3, AnyContinuation),
        0xF4 => (3, AfterF4),
        _ => (0, 0),
    };

    /// <summary>Whether <paramref name="b"/> is a continuation byte allowed by <paramref name="range"/>.</summary>
    public static bool Continues(byte b, int range) => range switch
    {
        AfterE0 => b is >= 0xA0 and <= 0xBF,
        AfterED => b is >= 0x80 and <= 0x9F,
        AfterF0 => b is >= 0x90 and <= 0xBF,
        AfterF4 => b is >= 0x80 and <= 0x8F,
        _ => b is >= 0x80 and <= 0xBF,
    };

    /// <summary>Length of the well-formed character at the start of <paramref name="bytes"/> (lead ≥ 0x80), or 0.</summary>
    public static int SequenceLength(ReadOnlySpan<byte> bytes)
    {
        var (pending, range) = Lead(bytes[0]);
        if (pending == 0 || bytes.Length <= pending)
        {
            return 0;
        }

        for (int k = 1; k <= pending; k++)
        {
            if (!Continues(bytes[k], k == 1 ? range : AnyContinuation))
            {
                return 0;
            }
        }

        return pending + 1;
    }
}
