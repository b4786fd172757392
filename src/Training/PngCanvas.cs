using System.Buffers.Binary;
using System.IO.Compression;

namespace RecurrentDepth.Training;

/// <summary>
/// A minimal RGB raster with lines, rectangles and a 5×7 bitmap font, encoded as PNG (zlib via
/// <see cref="ZLibStream"/>). Enough for a line plot without a plotting package.
/// </summary>
public sealed class PngCanvas
{
    private readonly byte[] pixels;

    /// <summary>Creates a white canvas.</summary>
    public PngCanvas(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        pixels = new byte[width * height * 3];
        Array.Fill(pixels, (byte)255);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Sets one pixel (ignored outside the canvas).</summary>
    public void Set(int x, int y, (byte R, byte G, byte B) color)
    {
        if (x < 0 || y < 0 || x >= Width || y >= Height)
        {
            return;
        }

        int i = (y * Width + x) * 3;
        (pixels[i], pixels[i + 1], pixels[i + 2]) = color;
    }

    /// <summary>Colour of one pixel.</summary>
    public (byte R, byte G, byte B) Get(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return (pixels[i], pixels[i + 1], pixels[i + 2]);
    }

    /// <summary>Fills a rectangle.</summary>
    public void FillRect(int x, int y, int w, int h, (byte R, byte G, byte B) color)
    {
        for (int j = y; j < y + h; j++)
        {
            for (int i = x; i < x + w; i++)
            {
                Set(i, j, color);
            }
        }
    }

    /// <summary>Draws a line of the given thickness; <paramref name="dash"/> &gt; 0 draws dashes of that many pixels.</summary>
    public void Line(double x0, double y0, double x1, double y1, (byte R, byte G, byte B) color, int thickness = 1, int dash = 0)
    {
        int n = (int)Math.Ceiling(Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0))) + 1;
        for (int s = 0; s <= n; s++)
        {
            if (dash > 0 && s / dash % 2 == 1)
            {
                continue;
            }

            double t = (double)s / n;
            int cx = (int)Math.Round(x0 + (x1 - x0) * t), cy = (int)Math.Round(y0 + (y1 - y0) * t);
            FillRect(cx - thickness / 2, cy - thickness / 2, thickness, thickness, color);
        }
    }

    /// <summary>Draws text in the built-in 5×7 font (digits, lower-case letters and a few symbols) at a scale.</summary>
    public void Text(int x, int y, string text, (byte R, byte G, byte B) color, int scale = 2)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var c in text)
        {
            if (Font.TryGetValue(c, out var rows))
            {
                for (int r = 0; r < 7; r++)
                {
                    for (int col = 0; col < 5; col++)
                    {
                        if (rows[r][col] == '1')
                        {
                            FillRect(x + col * scale, y + r * scale, scale, scale, color);
                        }
                    }
                }
            }

            x += 6 * scale;
        }
    }

    /// <summary>Width in pixels of <paramref name="text"/> at <paramref name="scale"/>.</summary>
    public static int TextWidth(string text, int scale = 2) => (text?.Length ?? 0) * 6 * scale;

    /// <summary>Encodes the canvas as a PNG file (8-bit RGB, no interlace).</summary>
    public byte[] ToPng()
    {
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < Height; y++)
            {
                z.WriteByte(0); // filter: none
                z.Write(pixels, y * Width * 3, Width * 3);
            }
        }

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), Height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: RGB
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        var typed = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++)
        {
            typed[i] = (byte)type[i];
        }

        data.CopyTo(typed, 4);
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        s.Write(word);
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++)
        {
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }

        return c;
    }).ToArray();

    private static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return c ^ 0xFFFFFFFFu;
    }

    private static readonly Dictionary<char, string[]> Font = new()
    {
        ['0'] = ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
        ['1'] = ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
        ['2'] = ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
        ['3'] = ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
        ['4'] = ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
        ['5'] = ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
        ['6'] = ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
        ['7'] = ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
        ['8'] = ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
        ['9'] = ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
        ['a'] = ["00000", "00000", "01110", "00001", "01111", "10001", "01111"],
        ['c'] = ["00000", "00000", "01110", "10000", "10000", "10001", "01110"],
        ['d'] = ["00001", "00001", "01101", "10011", "10001", "10001", "01111"],
        ['e'] = ["00000", "00000", "01110", "10001", "11111", "10000", "01110"],
        ['f'] = ["00110", "01001", "01000", "11100", "01000", "01000", "01000"],
        ['g'] = ["00000", "01111", "10001", "10001", "01111", "00001", "01110"],
        ['h'] = ["10000", "10000", "10110", "11001", "10001", "10001", "10001"],
        ['i'] = ["00100", "00000", "01100", "00100", "00100", "00100", "01110"],
        ['k'] = ["10000", "10000", "10010", "10100", "11000", "10100", "10010"],
        ['l'] = ["01100", "00100", "00100", "00100", "00100", "00100", "01110"],
        ['m'] = ["00000", "00000", "11010", "10101", "10101", "10001", "10001"],
        ['n'] = ["00000", "00000", "10110", "11001", "10001", "10001", "10001"],
        ['o'] = ["00000", "00000", "01110", "10001", "10001", "10001", "01110"],
        ['p'] = ["00000", "00000", "11110", "10001", "11110", "10000", "10000"],
        ['r'] = ["00000", "00000", "10110", "11001", "10000", "10000", "10000"],
        ['s'] = ["00000", "00000", "01110", "10000", "01110", "00001", "11110"],
        ['t'] = ["01000", "01000", "11100", "01000", "01000", "01001", "00110"],
        ['u'] = ["00000", "00000", "10001", "10001", "10001", "10011", "01101"],
        ['v'] = ["00000", "00000", "10001", "10001", "10001", "01010", "00100"],
        ['x'] = ["00000", "00000", "10001", "01010", "00100", "01010", "10001"],
        ['y'] = ["00000", "00000", "10001", "10001", "01111", "00001", "01110"],
        ['%'] = ["11000", "11001", "00010", "00100", "01000", "10011", "00011"],
        ['='] = ["00000", "00000", "11111", "00000", "11111", "00000", "00000"],
        ['('] = ["00010", "00100", "01000", "01000", "01000", "00100", "00010"],
        [')'] = ["01000", "00100", "00010", "00010", "00010", "00100", "01000"],
        ['-'] = ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
        [','] = ["00000", "00000", "00000", "00000", "00110", "00100", "01000"],
        ['.'] = ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
        ['*'] = ["00000", "00100", "10101", "01110", "10101", "00100", "00000"],
    };
}
