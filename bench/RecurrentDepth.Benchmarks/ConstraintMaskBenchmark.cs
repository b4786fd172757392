using System.Diagnostics;
using System.Text;
using RecurrentDepth.Generation;
using RecurrentDepth.Generation.Constraints;

namespace RecurrentDepth.Benchmarks;

/// <summary>
/// Cost of one constrained-decoding mask (one row) over a synthetic 65,536-token byte-level vocabulary of huginn's
/// size: a JSON document is cut into tokens (longest match), then every step writes the mask and accepts the token,
/// as the engine does. Reports µs per token after warm-up, overall and for steps inside strings vs elsewhere.
/// </summary>
internal static class ConstraintMaskBenchmark
{
    public const string Help = "constrained-decoding mask µs/token on a synthetic 65,536-token vocabulary (--repeats N)";

    private const string Schema = """
        {"type":"object","properties":{
          "name":{"type":"string"},"email":{"type":"string"},"age":{"type":"integer"},
          "address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},"zip":{"type":"string"}},"required":["street","city","zip"],"additionalProperties":false},
          "tags":{"type":"array","items":{"type":"string"}},
          "status":{"enum":["active","inactive","banned"]},
          "scores":{"type":"array","items":{"type":"number"}}},
         "required":["name","email","age","address","tags","status","scores"],"additionalProperties":false}
        """;

    private const string Document = """
        {"name": "Margaret Hamilton", "email": "margaret@example.org", "age": 84, "address": {"street": "1 Apollo Way, Building 7", "city": "Cambridge", "zip": "02139"}, "tags": ["engineering", "software", "the moon", "café"], "status": "active", "scores": [0.97, 12.5, -3.25e2, 100]}
        """;

    public static int Run(string[] args)
    {
        int repeats = args.Length >= 2 && args[0] == "--repeats" ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200;
        var (bytes, endId) = SyntheticVocabulary(65_536, seed: 1);
        var build = Stopwatch.StartNew();
        var vocabulary = TokenVocabulary.FromBytes(bytes, [endId]);
        var factory = new TokenConstraintFactory(vocabulary);
        Console.WriteLine($"vocabulary: {bytes.Count} ids, tables built in {build.Elapsed.TotalMilliseconds:F0} ms");

        var tokens = Tokenize(Encoding.UTF8.GetBytes(Document.Trim()), bytes);
        tokens.Add(endId);
        foreach (var (label, constraint) in new (string, OutputConstraint)[]
        {
            ("json_schema", new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = Schema }),
            ("json", new OutputConstraint { Kind = OutputConstraintKind.Json }),
        })
        {
            Measure(label, () => factory.Create(constraint, bytes.Count, 4096), tokens, vocabulary, bytes, repeats);
        }

        var digits = Tokenize(Encoding.UTF8.GetBytes("2026-12-02T16:05:00Z"), bytes);
        digits.Add(endId);
        Measure("regex", () => factory.Create(new OutputConstraint { Kind = OutputConstraintKind.Regex, Pattern = @"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z" }, bytes.Count, 4096), digits, vocabulary, bytes, repeats);
        return 0;
    }

    private static void Measure(string label, Func<ITokenConstraint> create, List<int> tokens, TokenVocabulary vocabulary, List<byte[]?> bytes, int repeats)
    {
        var words = new ulong[vocabulary.Words];
        var perStep = new double[tokens.Count];
        for (int r = 0; r < repeats + 10; r++)
        {
            var constraint = create();
            for (int i = 0; i < tokens.Count; i++)
            {
                long start = Stopwatch.GetTimestamp();
                Array.Clear(words);
                constraint.WriteAllowed(words);
                constraint.Accept(tokens[i]);
                long ticks = Stopwatch.GetTimestamp() - start;
                if (r >= 10)
                {
                    perStep[i] += ticks * 1e6 / Stopwatch.Frequency / repeats;
                }
            }
        }

        var inString = InStringSteps(tokens, bytes);
        double mean = perStep.Average(), worst = perStep.Max();
        double stringMean = perStep.Where((_, i) => inString[i]).DefaultIfEmpty(0).Average();
        double otherMean = perStep.Where((_, i) => !inString[i]).DefaultIfEmpty(0).Average();
        Console.WriteLine($"{label,-12} {tokens.Count,4} tokens  mean {mean,7:F1} µs/token  in strings {stringMean,7:F1}  elsewhere {otherMean,7:F1}  slowest step {worst,7:F1} µs");
    }

    // Whether each step starts inside a JSON string (an odd number of unescaped quotes so far).
    private static bool[] InStringSteps(List<int> tokens, List<byte[]?> bytes)
    {
        var result = new bool[tokens.Count];
        bool inside = false, escaped = false;
        for (int i = 0; i < tokens.Count; i++)
        {
            result[i] = inside;
            foreach (byte b in bytes[tokens[i]] ?? [])
            {
                if (escaped)
                {
                    escaped = false;
                }
                else if (b == '\\' && inside)
                {
                    escaped = true;
                }
                else if (b == '"')
                {
                    inside = !inside;
                }
            }
        }

        return result;
    }

    private static List<int> Tokenize(byte[] text, List<byte[]?> vocabulary)
    {
        var byString = new Dictionary<string, int>();
        for (int id = vocabulary.Count - 1; id >= 0; id--)
        {
            if (vocabulary[id] is { } b)
            {
                byString[Convert.ToHexString(b)] = id;
            }
        }

        var tokens = new List<int>();
        for (int at = 0; at < text.Length;)
        {
            for (int length = Math.Min(16, text.Length - at); length >= 1; length--)
            {
                if (byString.TryGetValue(Convert.ToHexString(text, at, length), out int id))
                {
                    tokens.Add(id);
                    at += length;
                    break;
                }
            }
        }

        return tokens;
    }

    /// <summary>
    /// 256 byte tokens, then words (with and without a leading space), numbers, JSON punctuation runs, indentation,
    /// non-ASCII text and split UTF-8 pieces, in roughly a code-and-prose BPE vocabulary's proportions; 32 special
    /// tokens at the end, the first of which ends a turn.
    /// </summary>
    public static (List<byte[]?> Bytes, int EndId) SyntheticVocabulary(int size, int seed)
    {
        var random = new Random(seed);
        var seen = new HashSet<string>();
        var tokens = new List<byte[]?>();
        for (int b = 0; b < 256; b++)
        {
            tokens.Add([(byte)b]);
            seen.Add(Convert.ToHexString([(byte)b]));
        }

        const string letters = "etaoinshrdlcumwfgypbvkjxqz";
        string[] punctuation = ["\"", "\",", "\":", "{\"", "\"}", "\"]", "[\"", "\": \"", "\", \"", "},", "],", "();", "=>", "//", "\\n", "\\\"", "...", "-", "_", "'s"];
        string[] nonAscii = ["é", "ü", "ñ", "ß", "ç", "ö", "日本", "語", "€", "—", "’", "“", "”", "п", "р", "и", "в", "е", "т"];
        int regular = size - 32;
        while (tokens.Count < regular)
        {
            double kind = random.NextDouble();
            string text = kind switch
            {
                < 0.62 => (random.NextDouble() < 0.5 ? " " : "") + Word(random, letters),
                < 0.70 => (random.NextDouble() < 0.3 ? " " : "") + random.Next(0, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
                < 0.80 => punctuation[random.Next(punctuation.Length)] + (random.NextDouble() < 0.5 ? Word(random, letters) : ""),
                < 0.85 => "\n" + new string(' ', random.Next(0, 16)),
                < 0.97 => (random.NextDouble() < 0.5 ? " " : "") + string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => nonAscii[random.Next(nonAscii.Length)])),
                _ => "",
            };
            byte[] bytes = text.Length > 0 ? Encoding.UTF8.GetBytes(text) : SplitCharacter(random, nonAscii);
            if (seen.Add(Convert.ToHexString(bytes)))
            {
                tokens.Add(bytes);
            }
        }

        int endId = tokens.Count;
        for (int k = 0; k < 32; k++)
        {
            tokens.Add(null);
        }

        return (tokens, endId);
    }

    private static string Word(Random random, string letters)
    {
        int length = random.Next(2, 11);
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            // Skewed toward frequent letters, so words repeat prefixes as real merges do.
            chars[i] = letters[(int)(Math.Pow(random.NextDouble(), 2) * letters.Length)];
        }

        return new string(chars);
    }

    // A piece of a multi-byte character: a byte-level BPE's tokens often end or start mid-character.
    private static byte[] SplitCharacter(Random random, string[] nonAscii)
    {
        var whole = Encoding.UTF8.GetBytes(nonAscii[random.Next(nonAscii.Length)] + nonAscii[random.Next(nonAscii.Length)]);
        int cut = random.Next(1, whole.Length);
        return random.NextDouble() < 0.5 ? whole[..cut] : whole[cut..];
    }
}
