using System.Text;

namespace RecurrentDepth.Generation.Constraints;

/// <summary>A parsed regular expression over UTF-8 bytes.</summary>
internal abstract record RegexAst
{
    /// <summary>A set of characters: ASCII members plus, when <see cref="AnyNonAscii"/>, every non-ASCII character.</summary>
    public sealed record CharSet(bool[] Ascii, bool AnyNonAscii) : RegexAst;

    /// <summary>One exact byte sequence (a non-ASCII literal character).</summary>
    public sealed record Bytes(byte[] Value) : RegexAst;

    public sealed record Sequence(IReadOnlyList<RegexAst> Parts) : RegexAst;

    public sealed record Choice(IReadOnlyList<RegexAst> Options) : RegexAst;

    /// <summary><see cref="Inner"/> repeated <see cref="Min"/> to <see cref="Max"/> times (−1: unbounded).</summary>
    public sealed record Repeat(RegexAst Inner, int Min, int Max) : RegexAst;
}

/// <summary>
/// Parses the regular-expression subset constrained decoding supports: literals, <c>.</c>, classes <c>[a-z]</c> and
/// <c>[^...]</c> (negated classes may exclude ASCII characters only), <c>\d \w \s</c> and their negations, escapes,
/// groups <c>( )</c> and <c>(?: )</c>, <c>|</c>, quantifiers <c>* + ? {n} {n,} {n,m}</c> (lazy forms are the same
/// language), and <c>^</c>/<c>$</c> at the ends (the whole output must match anyway). Back-references, look-around,
/// word boundaries and named classes fail with the construct's name.
/// </summary>
internal sealed class RegexParser
{
    private const int MaxRepeat = 1000;
    private readonly string _pattern;
    private int _at;

    private RegexParser(string pattern) => _pattern = pattern;

    public static RegexAst Parse(string pattern)
    {
        var parser = new RegexParser(pattern);
        if (parser.Peek('^'))
        {
            parser._at++;
        }

        var ast = parser.Alternation();
        if (parser._at < pattern.Length)
        {
            throw parser.Fail($"unbalanced ')' at offset {parser._at}");
        }

        return ast;
    }

    private ArgumentException Fail(string problem) => new($"Regular expression '{_pattern}': {problem}.", "constraint");

    private bool Peek(char c) => _at < _pattern.Length && _pattern[_at] == c;

    private RegexAst Alternation()
    {
        var options = new List<RegexAst> { Concatenation() };
        while (Peek('|'))
        {
            _at++;
            options.Add(Concatenation());
        }

        return options.Count == 1 ? options[0] : new RegexAst.Choice(options);
    }

    private RegexAst Concatenation()
    {
        var parts = new List<RegexAst>();
        while (_at < _pattern.Length && !Peek('|') && !Peek(')'))
        {
            if (Peek('$') && _at == _pattern.Length - 1)
            {
                _at++;
                break;
            }

            parts.Add(Quantified(Atom()));
        }

        return new RegexAst.Sequence(parts);
    }

    private RegexAst Quantified(RegexAst atom)
    {
        while (_at < _pattern.Length)
        {
            int min, max;
            char c = _pattern[_at];
            if (c == '*')
            {
                (min, max) = (0, -1);
                _at++;
            }
            else if (c == '+')
            {
                (min, max) = (1, -1);
                _at++;
            }
            else if (c == '?')
            {
                (min, max) = (0, 1);
                _at++;
            }
            else if (c == '{' && TryBraces(out min, out max))
            {
            }
            else
            {
                return atom;
            }

            if (Peek('?') || Peek('+'))
            {
                _at++; // lazy or possessive: the same set of whole matches
            }

            atom = new RegexAst.Repeat(atom, min, max);
        }

        return atom;
    }

    private bool TryBraces(out int min, out int max)
    {
        min = max = 0;
        int close = _pattern.IndexOf('}', _at);
        if (close < 0)
        {
            return false;
        }

        var body = _pattern[(_at + 1)..close].Split(',');
        if (body.Length > 2 || !int.TryParse(body[0], out min) || min < 0)
        {
            return false;
        }

        max = body.Length == 1 ? min : body[1].Length == 0 ? -1 : int.TryParse(body[1], out int m) ? m : -2;
        if (max == -2 || (max >= 0 && max < min) || min > MaxRepeat || max > MaxRepeat)
        {
            throw Fail($"the quantifier '{_pattern[_at..(close + 1)]}' is malformed or repeats more than {MaxRepeat} times");
        }

        _at = close + 1;
        return true;
    }

    private RegexAst Atom()
    {
        char c = _pattern[_at++];
        switch (c)
        {
            case '(':
                if (Peek('?'))
                {
                    if (_at + 1 < _pattern.Length && _pattern[_at + 1] == ':')
                    {
                        _at += 2;
                    }
                    else
                    {
                        throw Fail("look-around and other '(?...)' groups are not supported");
                    }
                }

                var inner = Alternation();
                if (!Peek(')'))
                {
                    throw Fail("a group is not closed");
                }

                _at++;
                return inner;
            case '[':
                return Class();
            case '.':
                var dot = new bool[128];
                Array.Fill(dot, true);
                dot['\n'] = false;
                return new RegexAst.CharSet(dot, AnyNonAscii: true);
            case '\\':
                return Escape(inClass: false);
            case '*' or '+' or '?' or '{':
                throw Fail($"the quantifier '{c}' at offset {_at - 1} has nothing to repeat");
            case '^' or '$':
                throw Fail($"the anchor '{c}' is supported only at the start or end of the pattern");
            default:
                return Literal(c);
        }
    }

    private RegexAst Literal(char c)
    {
        if (c < 128)
        {
            var set = new bool[128];
            set[c] = true;
            return new RegexAst.CharSet(set, false);
        }

        string text = char.IsHighSurrogate(c) && _at < _pattern.Length ? new string([c, _pattern[_at++]]) : c.ToString();
        return new RegexAst.Bytes(Encoding.UTF8.GetBytes(text));
    }

    private RegexAst Escape(bool inClass)
    {
        if (_at >= _pattern.Length)
        {
            throw Fail("the pattern ends with a lone '\\'");
        }

        char c = _pattern[_at++];
        var set = new bool[128];
        switch (c)
        {
            case 'd' or 'D':
                for (char d = '0'; d <= '9'; d++)
                {
                    set[d] = true;
                }

                return c == 'd' ? new RegexAst.CharSet(set, false) : Negate(set);
            case 'w' or 'W':
                for (int k = 0; k < 128; k++)
                {
                    set[k] = char.IsAsciiLetterOrDigit((char)k) || k == '_';
                }

                return c == 'w' ? new RegexAst.CharSet(set, false) : Negate(set);
            case 's' or 'S':
                foreach (char w in " \t\n\r\f\v")
                {
                    set[w] = true;
                }

                return c == 's' ? new RegexAst.CharSet(set, false) : Negate(set);
            case 'n':
                return Literal('\n');
            case 't':
                return Literal('\t');
            case 'r':
                return Literal('\r');
            case 'b' when !inClass:
                throw Fail("word boundaries ('\\b') are not supported");
            case >= '1' and <= '9':
                throw Fail("back-references are not supported");
            case 'p' or 'P' or 'k' or 'u' or 'x' or 'c':
                throw Fail($"the escape '\\{c}' is not supported");
            default:
                if (char.IsAsciiLetterOrDigit(c))
                {
                    throw Fail($"the escape '\\{c}' is not supported");
                }

                return Literal(c);
        }
    }

    private static RegexAst.CharSet Negate(bool[] set) => new(set.Select(x => !x).ToArray(), AnyNonAscii: true);

    private RegexAst Class()
    {
        bool negated = Peek('^');
        if (negated)
        {
            _at++;
        }

        var ascii = new bool[128];
        bool anyNonAscii = false;
        bool first = true;
        while (_at < _pattern.Length && (first || !Peek(']')))
        {
            first = false;
            char c = _pattern[_at++];
            if (c == '\\')
            {
                var escaped = Escape(inClass: true);
                if (escaped is RegexAst.CharSet set)
                {
                    for (int k = 0; k < 128; k++)
                    {
                        ascii[k] |= set.Ascii[k];
                    }

                    anyNonAscii |= set.AnyNonAscii;
                    continue;
                }

                throw Fail("non-ASCII characters inside a class are not supported");
            }

            if (c >= 128)
            {
                throw Fail("non-ASCII characters inside a class are not supported");
            }

            char last = c;
            if (Peek('-') && _at + 1 < _pattern.Length && _pattern[_at + 1] != ']')
            {
                last = _pattern[_at + 1];
                _at += 2;
                if (last >= 128 || last < c)
                {
                    throw Fail($"the class range '{c}-{last}' is reversed or not ASCII");
                }
            }

            for (int k = c; k <= last; k++)
            {
                ascii[k] = true;
            }
        }

        if (!Peek(']'))
        {
            throw Fail("a character class is not closed");
        }

        _at++;
        return negated ? new RegexAst.CharSet(ascii.Select(x => !x).ToArray(), !anyNonAscii) : new RegexAst.CharSet(ascii, anyNonAscii);
    }
}
