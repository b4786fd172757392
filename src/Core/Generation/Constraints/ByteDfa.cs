namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// A deterministic automaton over bytes compiled from a <see cref="RegexAst"/> (Thompson construction, then subsets),
/// with dead states removed (−1) and, per state, the fewest bytes to an accepting state.
/// </summary>
internal sealed class ByteDfa
{
    /// <summary>More states than this fails compilation (the pattern is too large for a byte table).</summary>
    public const int MaxStates = 4096;

    private ByteDfa(int[] next, bool[] accepting, int[] distance)
    {
        Next = next;
        Accepting = accepting;
        Distance = distance;
        MaxDistance = distance.Max();
    }

    /// <summary><c>Next[state * 256 + byte]</c>: the next state, or −1.</summary>
    public int[] Next { get; }

    public bool[] Accepting { get; }

    /// <summary>Fewest bytes from each state to an accepting one.</summary>
    public int[] Distance { get; }

    public int MaxDistance { get; }

    public int StateCount => Accepting.Length;

    public static ByteDfa Compile(string pattern)
    {
        var nfa = new Nfa();
        var (start, end) = nfa.Build(RegexParser.Parse(pattern));
        return Determinize(nfa, start, end, pattern);
    }

    private static ByteDfa Determinize(Nfa nfa, int start, int end, string pattern)
    {
        var ids = new Dictionary<string, int>();
        var sets = new List<int[]>();
        var table = new List<int>();
        int Intern(SortedSet<int> set)
        {
            var array = set.ToArray();
            string key = string.Join(',', array);
            if (!ids.TryGetValue(key, out int id))
            {
                if (sets.Count >= MaxStates)
                {
                    throw new ArgumentException($"Regular expression '{pattern}' needs more than {MaxStates} automaton states; simplify it.", "constraint");
                }

                id = sets.Count;
                ids[key] = id;
                sets.Add(array);
            }

            return id;
        }

        Intern(nfa.Closure([start]));
        for (int s = 0; s < sets.Count; s++)
        {
            var row = new int[256];
            for (int b = 0; b < 256; b++)
            {
                var moved = new List<int>();
                foreach (int q in sets[s])
                {
                    foreach (var (lo, hi, to) in nfa.Edges[q])
                    {
                        if (b >= lo && b <= hi)
                        {
                            moved.Add(to);
                        }
                    }
                }

                row[b] = moved.Count == 0 ? -1 : Intern(nfa.Closure(moved));
            }

            table.AddRange(row);
        }

        int n = sets.Count;
        var accepting = sets.Select(set => set.Contains(end)).ToArray();
        // Fewest bytes to acceptance, by relaxation from the accepting states backwards.
        var distance = Enumerable.Range(0, n).Select(s => accepting[s] ? 0 : int.MaxValue).ToArray();
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int s = 0; s < n; s++)
            {
                for (int b = 0; b < 256; b++)
                {
                    int t = table[s * 256 + b];
                    if (t >= 0 && distance[t] != int.MaxValue && distance[t] + 1 < distance[s])
                    {
                        distance[s] = distance[t] + 1;
                        changed = true;
                    }
                }
            }
        }

        if (distance[0] == int.MaxValue)
        {
            throw new ArgumentException($"Regular expression '{pattern}' matches no text.", "constraint");
        }

        var next = table.ToArray();
        for (int k = 0; k < next.Length; k++)
        {
            if (next[k] >= 0 && distance[next[k]] == int.MaxValue)
            {
                next[k] = -1; // dead: no way to acceptance from there
            }
        }

        return new ByteDfa(next, accepting, [.. distance.Select(d => d == int.MaxValue ? 0 : d)]);
    }

    private sealed class Nfa
    {
        public readonly List<List<(int Lo, int Hi, int To)>> Edges = [];
        public readonly List<List<int>> Epsilon = [];

        public int NewState()
        {
            Edges.Add([]);
            Epsilon.Add([]);
            return Edges.Count - 1;
        }

        public SortedSet<int> Closure(IEnumerable<int> states)
        {
            var set = new SortedSet<int>();
            var stack = new Stack<int>(states);
            while (stack.Count > 0)
            {
                int q = stack.Pop();
                if (set.Add(q))
                {
                    foreach (int e in Epsilon[q])
                    {
                        stack.Push(e);
                    }
                }
            }

            return set;
        }

        public (int Start, int End) Build(RegexAst ast)
        {
            int start = NewState();
            switch (ast)
            {
                case RegexAst.CharSet set:
                {
                    int end = NewState();
                    for (int b = 0; b < 128; b++)
                    {
                        if (set.Ascii[b])
                        {
                            Edges[start].Add((b, b, end));
                        }
                    }

                    if (set.AnyNonAscii)
                    {
                        AddNonAscii(start, end);
                    }

                    return (start, end);
                }

                case RegexAst.Bytes bytes:
                {
                    int at = start;
                    foreach (byte b in bytes.Value)
                    {
                        int to = NewState();
                        Edges[at].Add((b, b, to));
                        at = to;
                    }

                    return (start, at);
                }

                case RegexAst.Sequence sequence:
                {
                    int at = start;
                    foreach (var part in sequence.Parts)
                    {
                        var (s, e) = Build(part);
                        Epsilon[at].Add(s);
                        at = e;
                    }

                    return (start, at);
                }

                case RegexAst.Choice choice:
                {
                    int end = NewState();
                    foreach (var option in choice.Options)
                    {
                        var (s, e) = Build(option);
                        Epsilon[start].Add(s);
                        Epsilon[e].Add(end);
                    }

                    return (start, end);
                }

                case RegexAst.Repeat repeat:
                {
                    int at = start;
                    for (int k = 0; k < repeat.Min; k++)
                    {
                        var (s, e) = Build(repeat.Inner);
                        Epsilon[at].Add(s);
                        at = e;
                    }

                    if (repeat.Max < 0)
                    {
                        var (s, e) = Build(repeat.Inner);
                        Epsilon[at].Add(s);
                        Epsilon[e].Add(at);
                        return (start, at);
                    }

                    int end = NewState();
                    Epsilon[at].Add(end);
                    for (int k = repeat.Min; k < repeat.Max; k++)
                    {
                        var (s, e) = Build(repeat.Inner);
                        Epsilon[at].Add(s);
                        Epsilon[e].Add(end);
                        at = e;
                    }

                    return (start, end);
                }

                default:
                    throw new InvalidOperationException("Unknown regular-expression node.");
            }
        }

        // Every well-formed non-ASCII UTF-8 character from `from` to `to`.
        private void AddNonAscii(int from, int to)
        {
            int c1 = NewState(), c2 = NewState(), c3 = NewState();
            Edges[c1].Add((0x80, 0xBF, to));
            Edges[c2].Add((0x80, 0xBF, c1));
            Edges[c3].Add((0x80, 0xBF, c2));
            Edges[from].Add((0xC2, 0xDF, c1));
            int e0 = NewState(), ed = NewState(), f0 = NewState(), f4 = NewState();
            Edges[from].Add((0xE0, 0xE0, e0));
            Edges[e0].Add((0xA0, 0xBF, c1));
            Edges[from].Add((0xE1, 0xEC, c2));
            Edges[from].Add((0xED, 0xED, ed));
            Edges[ed].Add((0x80, 0x9F, c1));
            Edges[from].Add((0xEE, 0xEF, c2));
            Edges[from].Add((0xF0, 0xF0, f0));
            Edges[f0].Add((0x90, 0xBF, c2));
            Edges[from].Add((0xF1, 0xF3, c3));
            Edges[from].Add((0xF4, 0xF4, f4));
            Edges[f4].Add((0x80, 0x8F, c2));
        }
    }
}
