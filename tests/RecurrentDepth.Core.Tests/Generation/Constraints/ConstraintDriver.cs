using System.Text;
using RecurrentDepth.Generation;
using RecurrentDepth.Generation.Constraints;

namespace RecurrentDepth.Tests.Generation.Constraints;

/// <summary>
/// A small byte-level vocabulary (all 256 bytes, then multi-byte pieces that cross JSON structure, split UTF-8
/// characters and carry escapes) and a driver that samples uniformly among allowed tokens, as a model would
/// under the mask, without a model.
/// </summary>
internal static class ConstraintDriver
{
    public const int EndTurn = 300;

    private static readonly string[] Pieces =
    [
        "{\"", "\":", "\",", "\"}", "\"]", "\":\"", "[{", "}]", "},", "],", ", ", ": ", "\n  ", "true", "false", "null",
        "\"name", "name", "arguments", "\"arguments\":", "12", "0.5", "-3", "e+1", "é", "\\n", "\\\"", "\\u00e9",
        "abc", " the", "red", "\"red\"", "green", "{}", "[]", "\"\"", "1}", "0,", "\u00e9t\u00e9",
    ];

    public static TokenVocabulary Vocabulary { get; } = Build();

    private static TokenVocabulary Build()
    {
        var tokens = new List<byte[]?>();
        for (int b = 0; b < 256; b++)
        {
            tokens.Add([(byte)b]);
        }

        tokens.AddRange(Pieces.Select(p => Encoding.UTF8.GetBytes(p)));
        tokens.Add([0xC3]); // duplicate of a byte token: two ids, one string
        tokens.Add([0xE2, 0x82]); // the first two bytes of '€'
        while (tokens.Count < EndTurn)
        {
            tokens.Add(null);
        }

        tokens.Add(null); // 300: end of turn (special, no bytes)
        tokens.Add(null); // 301: another special token, never allowed
        return TokenVocabulary.FromBytes(tokens, [EndTurn]);
    }

    public static TokenConstraintFactory Factory { get; } = new(Vocabulary);

    /// <summary>Samples one output: uniform over the allowed tokens until end of turn; returns its text and token count.</summary>
    public static (string Text, int Tokens, bool Ended) Sample(ITokenConstraint constraint, Random random, int maxTokens)
    {
        var bytes = new List<byte>();
        var words = new ulong[Vocabulary.Words];
        for (int n = 0; n < maxTokens; n++)
        {
            Array.Clear(words);
            constraint.WriteAllowed(words);
            var allowed = Allowed(words);
            Assert.NotEmpty(allowed);
            Assert.DoesNotContain(301, allowed);
            int token = allowed[random.Next(allowed.Count)];
            constraint.Accept(token);
            if (token == EndTurn)
            {
                return (Encoding.UTF8.GetString([.. bytes]), n + 1, true);
            }

            bytes.AddRange(Vocabulary.TokenBytes[token]!);
        }

        return (Encoding.UTF8.GetString([.. bytes]), maxTokens, false);
    }

    public static List<int> Allowed(ulong[] words)
    {
        var ids = new List<int>();
        for (int id = 0; id < Vocabulary.Size; id++)
        {
            if ((words[id >> 6] >> (id & 63) & 1) != 0)
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    /// <summary>Feeds <paramref name="text"/> byte by byte (byte tokens).</summary>
    public static void Feed(ITokenConstraint constraint, string text)
    {
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            constraint.Accept(b);
        }
    }

    public static ITokenConstraint Create(OutputConstraintKind kind, string? schema = null, string? pattern = null, int budget = int.MaxValue) =>
        Factory.Create(new OutputConstraint { Kind = kind, Schema = schema, Pattern = pattern }, Vocabulary.Size, budget);
}
