namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// The innermost open value of one way of reading the output so far: which node, where in it, and how many bytes the
/// enclosing values need at least once it is done (<see cref="Tail"/>).
/// </summary>
internal struct Frame
{
    public GrammarNode Node;
    public int Phase;
    public int Index;
    public int Aux;
    public int Whitespace;
    public int Tail;
}

/// <summary>An enclosing frame; immutable, so alternatives and walk states share their outer frames.</summary>
internal sealed class FrameLink(Frame frame, FrameLink? parent)
{
    public readonly Frame Frame = frame;
    public readonly FrameLink? Parent = parent;
}

/// <summary>One reading of the output: the open frame plus the frames around it.</summary>
internal struct Alt
{
    public Frame Top;
    public FrameLink? Rest;

    public static Alt Start(RootNode root) => new() { Top = new Frame { Node = root } };
}

/// <summary>A reusable list of alternatives (an anyOf can be read several ways until its bytes tell them apart).</summary>
internal sealed class AltBuffer
{
    /// <summary>Readings kept at most; further ones are dropped, which only narrows what may be generated.</summary>
    public const int Capacity = 32;

    public readonly Alt[] Items = new Alt[Capacity];
    public int Count;

    public void Add(in Alt alt)
    {
        if (Count < Capacity)
        {
            Items[Count++] = alt;
        }
    }
}

/// <summary>
/// Advances JSON readings byte by byte against a compiled grammar, and says how many bytes each reading needs at
/// least to be complete. Whitespace is allowed between tokens of a container (at most <see cref="MaxWhitespace"/>
/// bytes in a row), never before or after the whole value.
/// </summary>
internal static class JsonMatcher
{
    public const int MaxWhitespace = 12;

    // Container phases (objects and arrays share the after-value and after-comma numbers).
    private const int Open = 0, Key = 1, Colon = 2, Value = 3, After = 4, Comma = 5;

    // Number phases.
    private const int Minus = 1, Zero = 2, Int = 3, Dot = 4, Frac = 5, Exp = 6, ExpSign = 7, ExpDigits = 8;

    // String escape states in Aux: 0 plain, 1 after '\', 2..5 inside \u0XXX, ≥ 100 inside a UTF-8 character.
    private const int Escape = 1, Unicode = 2, Utf8Base = 100;

    /// <summary>Appends to <paramref name="output"/> every reading of <paramref name="alt"/> extended by <paramref name="b"/>.</summary>
    public static void Step(Alt alt, byte b, AltBuffer output)
    {
        while (true)
        {
            ref var f = ref alt.Top;
            switch (f.Node.Kind)
            {
                case GrammarKind.Root:
                    if (f.Phase != 0)
                    {
                        return;
                    }

                    f.Phase = 1;
                    StartValue(alt, ((RootNode)f.Node).Value, b, output);
                    return;

                case GrammarKind.Object:
                    StepObject(alt, (ObjectNode)f.Node, b, output);
                    return;

                case GrammarKind.FreeObject:
                    StepFreeObject(alt, (FreeObjectNode)f.Node, b, output);
                    return;

                case GrammarKind.Array:
                    StepArray(alt, (ArrayNode)f.Node, b, output);
                    return;

                case GrammarKind.String:
                    if (StepString(ref f, (StringNode)f.Node, b, out bool closed))
                    {
                        if (closed)
                        {
                            Pop(ref alt);
                        }

                        output.Add(alt);
                    }

                    return;

                case GrammarKind.Number:
                    if (StepNumber(ref f, ((NumberNode)f.Node).Integer, b))
                    {
                        output.Add(alt);
                        return;
                    }

                    if (f.Phase is Minus or Dot or Exp or ExpSign)
                    {
                        return;
                    }

                    Pop(ref alt);
                    continue; // the number ended; the byte belongs to the enclosing value

                case GrammarKind.Literal:
                    var trie = ((LiteralNode)f.Node).Values;
                    int next = trie.Next(f.Index, b);
                    if (next >= 0)
                    {
                        f.Index = next;
                        if (trie.ValueAt(next) >= 0 && !trie.HasChildren(next))
                        {
                            Pop(ref alt);
                        }

                        output.Add(alt);
                        return;
                    }

                    if (trie.ValueAt(f.Index) < 0)
                    {
                        return;
                    }

                    Pop(ref alt);
                    continue;

                case GrammarKind.Text:
                    output.Add(alt);
                    return;

                default:
                    return;
            }
        }
    }

    /// <summary>Fewest bytes that complete <paramref name="alt"/>; 0 when the output is a complete value.</summary>
    public static int MinCompletion(in Alt alt) => Own(alt.Top) + alt.Top.Tail;

    /// <summary>Whether the reading is inside a string between characters, with <paramref name="room"/> characters left.</summary>
    public static bool InPlainString(in Alt alt, out int room)
    {
        if (alt.Top.Node is StringNode s && alt.Top.Aux == 0)
        {
            room = s.MaxLength - alt.Top.Index;
            return true;
        }

        room = 0;
        return false;
    }

    private static void StartValue(Alt alt, GrammarNode node, byte b, AltBuffer output)
    {
        if (node is UnionNode union)
        {
            foreach (var branch in union.Branches)
            {
                StartValue(alt, branch, b, output);
            }

            return;
        }

        var frame = new Frame { Node = node, Tail = alt.Top.Tail + Own(alt.Top) };
        switch (node.Kind)
        {
            case GrammarKind.Object or GrammarKind.FreeObject when b == '{':
            case GrammarKind.Array when b == '[':
            case GrammarKind.String when b == '"':
                break;
            case GrammarKind.Number when b == '-':
                frame.Phase = Minus;
                break;
            case GrammarKind.Number when b == '0':
                frame.Phase = Zero;
                frame.Index = 1;
                break;
            case GrammarKind.Number when b is >= (byte)'1' and <= (byte)'9':
                frame.Phase = Int;
                frame.Index = 1;
                break;
            case GrammarKind.Text when b is not ((byte)'{' or (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'):
                frame.Phase = 1;
                break;
            case GrammarKind.Literal:
                var trie = ((LiteralNode)node).Values;
                int next = trie.Next(0, b);
                if (next < 0)
                {
                    return;
                }

                frame.Index = next;
                if (trie.ValueAt(next) >= 0 && !trie.HasChildren(next))
                {
                    output.Add(alt); // a one-byte literal: done at once
                    return;
                }

                break;
            default:
                return;
        }

        alt.Rest = new FrameLink(alt.Top, alt.Rest);
        alt.Top = frame;
        output.Add(alt);
    }

    private static void StepObject(Alt alt, ObjectNode node, byte b, AltBuffer output)
    {
        ref var f = ref alt.Top;
        if (IsWhitespace(b))
        {
            TakeWhitespace(alt, f.Phase is Open or Colon or Value or After or Comma, output);
            return;
        }

        f.Whitespace = 0;
        switch (f.Phase)
        {
            case Open or Comma when b == '"':
                if ((node.Keys.Below(0) & node.AllowedFrom(f.Index)) == 0)
                {
                    return;
                }

                f.Phase = Key;
                f.Aux = 0;
                break;
            case Open or After when b == '}':
                if (node.NextRequired[f.Index] != node.Count)
                {
                    return;
                }

                Pop(ref alt);
                break;
            case Key:
                int next = node.Keys.Next(f.Aux, b);
                if (next < 0 || (node.Keys.Below(next) & node.AllowedFrom(f.Index)) == 0)
                {
                    return;
                }

                f.Aux = next;
                if (node.Keys.ValueAt(next) is >= 0 and var j)
                {
                    f.Phase = Colon;
                    f.Aux = j;
                }

                break;
            case Colon when b == ':':
                f.Phase = Value;
                break;
            case Value:
                int property = f.Aux;
                f.Phase = After;
                f.Index = property + 1;
                StartValue(alt, node.Values[property], b, output);
                return;
            case After when b == ',':
                if (node.AllowedFrom(f.Index) == 0)
                {
                    return;
                }

                f.Phase = Comma;
                break;
            default:
                return;
        }

        output.Add(alt);
    }

    /// <summary>Keeps <paramref name="alt"/> alive over one whitespace byte where whitespace may stand, up to <c>MaxWhitespace</c> in a row.</summary>
    private static void TakeWhitespace(Alt alt, bool allowed, AltBuffer output)
    {
        ref var f = ref alt.Top;
        if (allowed && f.Whitespace < MaxWhitespace)
        {
            f.Whitespace++;
            output.Add(alt);
        }
    }

    private static void StepFreeObject(Alt alt, FreeObjectNode node, byte b, AltBuffer output)
    {
        ref var f = ref alt.Top;
        if (IsWhitespace(b))
        {
            TakeWhitespace(alt, allowed: true, output);
            return;
        }

        f.Whitespace = 0;
        switch (f.Phase)
        {
            case Open or Comma when b == '"':
                f.Phase = Colon;
                StartValue(alt, node.Keys, b, output);
                return;
            case Open or After when b == '}':
                Pop(ref alt);
                break;
            case Colon when b == ':':
                f.Phase = Value;
                break;
            case Value:
                f.Phase = After;
                StartValue(alt, node.Values, b, output);
                return;
            case After when b == ',':
                f.Phase = Comma;
                break;
            default:
                return;
        }

        output.Add(alt);
    }

    private static void StepArray(Alt alt, ArrayNode node, byte b, AltBuffer output)
    {
        ref var f = ref alt.Top;
        if (IsWhitespace(b))
        {
            TakeWhitespace(alt, allowed: true, output);
            return;
        }

        f.Whitespace = 0;
        switch (f.Phase)
        {
            case Open when b == ']':
            case After when b == ']':
                if (f.Index < node.MinItems)
                {
                    return;
                }

                Pop(ref alt);
                break;
            case Open or Comma:
                if (f.Index >= node.MaxItems)
                {
                    return;
                }

                f.Index++;
                f.Phase = After;
                StartValue(alt, node.Items, b, output);
                return;
            case After when b == ',':
                if (f.Index >= node.MaxItems)
                {
                    return;
                }

                f.Phase = Comma;
                break;
            default:
                return;
        }

        output.Add(alt);
    }

    private static bool StepString(ref Frame f, StringNode node, byte b, out bool closed)
    {
        closed = false;
        if (f.Aux == 0)
        {
            if (b == '"')
            {
                closed = f.Index >= node.MinLength;
                return closed;
            }

            if (b < 0x20 || f.Index >= node.MaxLength)
            {
                return false;
            }

            if (b == '\\')
            {
                f.Aux = Escape;
                return true;
            }

            if (b < 0x80)
            {
                f.Index++;
                return true;
            }

            var (pending, range) = Utf8.Lead(b);
            if (pending == 0)
            {
                return false;
            }

            f.Aux = Utf8Base + pending * 10 + range;
            return true;
        }

        if (f.Aux == Escape)
        {
            if (b == 'u')
            {
                f.Aux = Unicode;
                return true;
            }

            if (b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
            {
                f.Aux = 0;
                f.Index++;
                return true;
            }

            return false;
        }

        if (f.Aux < Utf8Base)
        {
            // \u0XXX only: keeps every escape a whole BMP character outside the surrogate range.
            bool ok = f.Aux == Unicode ? b == '0' : IsHex(b);
            if (!ok)
            {
                return false;
            }

            f.Aux = f.Aux == Unicode + 3 ? 0 : f.Aux + 1;
            f.Index += f.Aux == 0 ? 1 : 0;
            return true;
        }

        int left = (f.Aux - Utf8Base) / 10, code = (f.Aux - Utf8Base) % 10;
        if (!Utf8.Continues(b, code))
        {
            return false;
        }

        f.Aux = left == 1 ? 0 : Utf8Base + (left - 1) * 10 + Utf8.AnyContinuation;
        f.Index += f.Aux == 0 ? 1 : 0;
        return true;
    }

    private static bool StepNumber(ref Frame f, bool integer, byte b)
    {
        bool digit = b is >= (byte)'0' and <= (byte)'9';
        switch (f.Phase)
        {
            case Minus when digit:
                f.Phase = b == '0' ? Zero : Int;
                f.Index = 1;
                return true;
            case Int when digit && f.Index < NumberNode.MaxIntegerDigits:
            case Frac when digit && f.Index < NumberNode.MaxFractionDigits:
            case ExpDigits when digit && f.Index < NumberNode.MaxExponentDigits:
                f.Index++;
                return true;
            case Zero or Int when b == '.' && !integer:
                f.Phase = Dot;
                return true;
            case Zero or Int or Frac when (b == 'e' || b == 'E') && !integer:
                f.Phase = Exp;
                return true;
            case Dot when digit:
                f.Phase = Frac;
                f.Index = 1;
                return true;
            case Exp when b == '+' || b == '-':
                f.Phase = ExpSign;
                return true;
            case Exp or ExpSign when digit:
                f.Phase = ExpDigits;
                f.Index = 1;
                return true;
            default:
                return false;
        }
    }

    private static int Own(in Frame f)
    {
        switch (f.Node)
        {
            case RootNode root:
                return f.Phase == 0 ? root.MinBytes : 0;
            case ObjectNode o:
                return f.Phase switch
                {
                    Open => o.FirstMemberFrom(f.Index),
                    Key => BestMember(o, f.Index, o.Keys.Below(f.Aux), 1 - o.Keys.DepthOf(f.Aux) - 1),
                    Colon => 1 + o.Values[f.Aux].MinBytes + o.AfterMemberFrom(f.Aux + 1),
                    Value => o.Values[f.Aux].MinBytes + o.AfterMemberFrom(f.Aux + 1),
                    After => o.AfterMemberFrom(f.Index),
                    _ => BestMember(o, f.Index, ulong.MaxValue, 1),
                };
            case FreeObjectNode:
                return f.Phase switch { Open => 1, Colon => 3, Value => 2, After => 1, _ => 5 };
            case ArrayNode a:
                return f.Phase switch
                {
                    Open => a.MinItems == 0 ? 1 : a.MinItems * (a.Items.MinBytes + 1),
                    After => a.AfterItem(f.Index),
                    _ => a.Items.MinBytes + a.AfterItem(f.Index + 1),
                };
            case StringNode s:
                if (f.Aux == 0)
                {
                    return Math.Max(0, s.MinLength - f.Index) + 1;
                }

                int toFinishChar = f.Aux == Escape ? 1 : f.Aux < Utf8Base ? 6 - f.Aux : (f.Aux - Utf8Base) / 10;
                return toFinishChar + Math.Max(0, s.MinLength - f.Index - 1) + 1;
            case NumberNode:
                return f.Phase is Minus or Dot or Exp or ExpSign ? 1 : 0;
            case LiteralNode l:
                return l.Values.MinToEnd(f.Index);
            default:
                return 0;
        }
    }

    // Fewest bytes to finish with one of the allowed properties in `candidates` next; `keyOffset` is added to each
    // full quoted key length (−depth when part of the key is written, +1 for the colon when none of it is).
    private static int BestMember(ObjectNode o, int from, ulong candidates, int keyOffset)
    {
        ulong allowed = o.AllowedFrom(from) & candidates;
        int best = int.MaxValue;
        while (allowed != 0)
        {
            int j = System.Numerics.BitOperations.TrailingZeroCount(allowed);
            allowed &= allowed - 1;
            best = Math.Min(best, o.KeyLengths[j] + keyOffset + o.Values[j].MinBytes + o.AfterMemberFrom(j + 1));
        }

        return best == int.MaxValue ? 0 : best;
    }

    private static void Pop(ref Alt alt)
    {
        alt.Top = alt.Rest!.Frame;
        alt.Rest = alt.Rest.Parent;
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
}
