namespace RecurrentDepth.Generation.Constraints;

/// <summary>Which kind of value a <see cref="GrammarNode"/> describes.</summary>
internal enum GrammarKind
{
    Root,
    Object,
    FreeObject,
    Array,
    String,
    Number,
    Literal,
    Union,
    Text,
}

/// <summary>
/// One node of a compiled output grammar: what value may stand at a place of the output, plus the fewest bytes a
/// valid value takes (<see cref="MinBytes"/>), which the budget check uses to make sure every output can still be
/// finished within the tokens left.
/// </summary>
internal abstract class GrammarNode
{
    public abstract GrammarKind Kind { get; }

    /// <summary>Fewest bytes of a valid value of this node.</summary>
    public int MinBytes { get; protected set; }
}

/// <summary>The whole output: one value, then the end of the turn.</summary>
internal sealed class RootNode : GrammarNode
{
    public RootNode(GrammarNode value)
    {
        Value = value;
        MinBytes = value.MinBytes;
    }

    public override GrammarKind Kind => GrammarKind.Root;

    public GrammarNode Value { get; }
}

/// <summary>
/// A schema object: its properties in schema order, each optional or required. Properties are written in that
/// order (the ones left out are optional), so the allowed next keys are a contiguous range of the list.
/// </summary>
internal sealed class ObjectNode : GrammarNode
{
    public ObjectNode(IReadOnlyList<(byte[] QuotedKey, GrammarNode Value, bool Required)> properties)
    {
        Count = properties.Count;
        KeyLengths = [.. properties.Select(p => p.QuotedKey.Length)];
        Values = [.. properties.Select(p => p.Value)];
        Required = [.. properties.Select(p => p.Required)];
        // Keys without their opening quote: the object frame consumes the quote before walking the key trie.
        Keys = new LiteralTrie([.. properties.Select(p => p.QuotedKey[1..])]);
        NextRequired = new int[Count + 1];
        RequiredFrom = new int[Count + 1];
        RequiredCountFrom = new int[Count + 1];
        NextRequired[Count] = Count;
        for (int i = Count - 1; i >= 0; i--)
        {
            NextRequired[i] = Required[i] ? i : NextRequired[i + 1];
            // comma + "key" + colon + value
            RequiredFrom[i] = RequiredFrom[i + 1] + (Required[i] ? 1 + KeyLengths[i] + 1 + Values[i].MinBytes : 0);
            RequiredCountFrom[i] = RequiredCountFrom[i + 1] + (Required[i] ? 1 : 0);
        }

        MinBytes = 1 + FirstMemberFrom(0);
    }

    public override GrammarKind Kind => GrammarKind.Object;

    public int Count { get; }

    /// <summary>Length of each key with its quotes.</summary>
    public int[] KeyLengths { get; }

    public GrammarNode[] Values { get; }

    public bool[] Required { get; }

    /// <summary>The keys (after the opening quote, closing quote included), valued by property index.</summary>
    public LiteralTrie Keys { get; }

    /// <summary>Index of the first required property at or after <c>i</c>, or <see cref="Count"/>.</summary>
    public int[] NextRequired { get; }

    /// <summary>Bytes of the required members from <c>i</c> on, each with a leading comma.</summary>
    public int[] RequiredFrom { get; }

    public int[] RequiredCountFrom { get; }

    /// <summary>Fewest bytes to finish the object right after <c>{</c> with properties from <paramref name="i"/> still open (no leading comma).</summary>
    public int FirstMemberFrom(int i) => RequiredFrom[i] - (RequiredCountFrom[i] > 0 ? 1 : 0) + 1;

    /// <summary>Fewest bytes to finish after a member, with properties from <paramref name="i"/> still open.</summary>
    public int AfterMemberFrom(int i) => RequiredFrom[i] + 1;

    /// <summary>The set of property indexes that may come next when properties from <paramref name="i"/> are open.</summary>
    public ulong AllowedFrom(int i)
    {
        int last = Math.Min(NextRequired[i], Count - 1);
        if (i > last)
        {
            return 0;
        }

        ulong upTo = last >= 63 ? ulong.MaxValue : (1UL << (last + 1)) - 1;
        ulong from = i >= 64 ? 0 : ~((1UL << i) - 1);
        return upTo & from;
    }
}

/// <summary>An object with any string keys and values of <see cref="Values"/> (JSON mode).</summary>
internal sealed class FreeObjectNode : GrammarNode
{
    public FreeObjectNode(GrammarNode values, StringNode keys)
    {
        Values = values;
        Keys = keys;
        MinBytes = 2;
    }

    public override GrammarKind Kind => GrammarKind.FreeObject;

    public GrammarNode Values { get; }

    public StringNode Keys { get; }
}

/// <summary>An array of <see cref="Items"/> with an item-count range.</summary>
internal sealed class ArrayNode : GrammarNode
{
    public ArrayNode(GrammarNode items, int minItems, int maxItems)
    {
        Items = items;
        MinItems = minItems;
        MaxItems = maxItems;
        MinBytes = minItems == 0 ? 2 : 1 + minItems * (items.MinBytes + 1);
    }

    public override GrammarKind Kind => GrammarKind.Array;

    public GrammarNode Items { get; }

    public int MinItems { get; }

    public int MaxItems { get; }

    /// <summary>Fewest bytes to finish after <paramref name="count"/> items (at a comma-or-close point).</summary>
    public int AfterItem(int count) => Math.Max(0, MinItems - count) * (Items.MinBytes + 1) + 1;
}

/// <summary>A string of <see cref="MinLength"/> to <see cref="MaxLength"/> characters (code points).</summary>
internal sealed class StringNode : GrammarNode
{
    public StringNode(int minLength, int maxLength)
    {
        MinLength = minLength;
        MaxLength = maxLength;
        MinBytes = 2 + minLength;
    }

    public override GrammarKind Kind => GrammarKind.String;

    public int MinLength { get; }

    public int MaxLength { get; }
}

/// <summary>A number (or, with <see cref="Integer"/>, an integer) in JSON's syntax, with bounded digit counts.</summary>
internal sealed class NumberNode : GrammarNode
{
    /// <summary>Most digits before the point, after it, and in the exponent: keeps every value a finite double.</summary>
    public const int MaxIntegerDigits = 15, MaxFractionDigits = 15, MaxExponentDigits = 2;

    public NumberNode(bool integer)
    {
        Integer = integer;
        MinBytes = 1;
    }

    public override GrammarKind Kind => GrammarKind.Number;

    public bool Integer { get; }
}

/// <summary>One of a fixed set of serialized values (enum, const, true, false, null).</summary>
internal sealed class LiteralNode : GrammarNode
{
    public LiteralNode(IReadOnlyList<byte[]> values)
    {
        Values = new LiteralTrie(values);
        MinBytes = Values.MinToEnd(0);
    }

    public override GrammarKind Kind => GrammarKind.Literal;

    public LiteralTrie Values { get; }
}

/// <summary>Any of <see cref="Branches"/> (anyOf, type lists, any JSON value); resolved by the bytes that follow.</summary>
internal sealed class UnionNode : GrammarNode
{
    public UnionNode(IReadOnlyList<GrammarNode> branches)
    {
        Branches = [.. branches];
        MinBytes = Branches.Min(b => b.MinBytes);
    }

    public override GrammarKind Kind => GrammarKind.Union;

    public GrammarNode[] Branches { get; }
}

/// <summary>Free text that does not start with white space or <c>{</c> (the text side of "text or a tool call").</summary>
internal sealed class TextNode : GrammarNode
{
    public TextNode() => MinBytes = 1;

    public override GrammarKind Kind => GrammarKind.Text;
}
