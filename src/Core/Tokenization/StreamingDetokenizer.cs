using System.Text;

namespace RecurrentDepth.Tokenization;

/// <summary>
/// Turns generated token ids into text one token at a time. A byte-level token can end in the middle of a UTF-8
/// character (an emoji or a CJK character often spans two or three tokens); this decoder holds such bytes back until
/// the character completes, so every piece it returns is whole text and the pieces concatenate to
/// <see cref="HuginnTokenizer.Decode"/> of the same ids.
/// </summary>
/// <remarks>Not thread-safe: one decoder per generated sequence. Create it with <see cref="HuginnTokenizer.CreateStreamingDecoder"/>.</remarks>
public sealed class StreamingDetokenizer
{
    private readonly IReadOnlyList<byte[]> _tokenBytes;
    private readonly IReadOnlySet<int> _skipped;
    private readonly byte[] _pending = new byte[4];
    private int _pendingCount;

    internal StreamingDetokenizer(IReadOnlyList<byte[]> tokenBytes, IReadOnlySet<int> skipped)
    {
        _tokenBytes = tokenBytes;
        _skipped = skipped;
    }

    /// <summary>The number of bytes held back because they begin a character that has not completed yet (0–3).</summary>
    public int PendingByteCount => _pendingCount;

    /// <summary>Adds one token and returns the text it completes.</summary>
    /// <param name="tokenId">A token id of the tokenizer that created this decoder.</param>
    /// <returns>The newly completed text; empty when the token only started a character (or is a skipped special token).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenId"/> is not an id of the tokenizer.</exception>
    public string Append(int tokenId)
    {
        if ((uint)tokenId >= (uint)_tokenBytes.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, $"Token id must be in [0, {_tokenBytes.Count}).");
        }

        if (_skipped.Contains(tokenId))
        {
            return string.Empty;
        }

        var bytes = _tokenBytes[tokenId];
        if (_pendingCount == 0)
        {
            var complete = CompleteLength(bytes);
            var text = Encoding.UTF8.GetString(bytes, 0, complete);
            Hold(bytes.AsSpan(complete));
            return text;
        }

        var buffer = new byte[_pendingCount + bytes.Length];
        _pending.AsSpan(0, _pendingCount).CopyTo(buffer);
        bytes.CopyTo(buffer, _pendingCount);
        var length = CompleteLength(buffer);
        _pendingCount = 0;
        Hold(buffer.AsSpan(length));
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>
    /// Returns the held-back bytes of an unfinished character (as U+FFFD, since they cannot complete any more) and
    /// resets the decoder. Call it when the sequence ends.
    /// </summary>
    /// <returns>The remaining text; empty when nothing was held back.</returns>
    public string Flush()
    {
        var text = Encoding.UTF8.GetString(_pending, 0, _pendingCount);
        _pendingCount = 0;
        return text;
    }

    private void Hold(ReadOnlySpan<byte> tail)
    {
        tail.CopyTo(_pending);
        _pendingCount = tail.Length;
    }

    /// <summary>The length of <paramref name="bytes"/> without a trailing, still incomplete UTF-8 character.</summary>
    private static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        // Look back at most three bytes for the lead byte of the last character.
        for (var back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            var b = bytes[^back];
            if ((b & 0b1100_0000) == 0b1000_0000)
            {
                continue; // continuation byte
            }

            var needed = b switch
            {
                >= 0b1111_1000 => 1, // never a lead byte
                >= 0b1111_0000 => 4,
                >= 0b1110_0000 => 3,
                >= 0b1100_0000 => 2,
                _ => 1,
            };
            return needed > back ? bytes.Length - back : bytes.Length;
        }

        return bytes.Length; // no lead byte in reach: invalid bytes, decoded as U+FFFD now
    }
}
