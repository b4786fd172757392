namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// A byte trie of token strings laid out in depth-first preorder, so that a mask walk is one forward scan that skips
/// a rejected node's whole subtree with one jump (<see cref="SubtreeEnd"/>). Node 0 is the root (no byte).
/// </summary>
internal sealed class TokenTrie
{
    private TokenTrie(byte[] bytes, int[] depth, int[] subtreeEnd, int[] tokenStart, int[] tokens, int maxDepth)
    {
        Bytes = bytes;
        Depth = depth;
        SubtreeEnd = subtreeEnd;
        TokenStart = tokenStart;
        Tokens = tokens;
        MaxDepth = maxDepth;
    }

    /// <summary>The byte on the edge into each node.</summary>
    public byte[] Bytes { get; }

    /// <summary>Each node's depth (the root is 0).</summary>
    public int[] Depth { get; }

    /// <summary>For each node, the index of the first node after its subtree.</summary>
    public int[] SubtreeEnd { get; }

    /// <summary>Tokens ending at node <c>i</c> are <c>Tokens[TokenStart[i] .. TokenStart[i + 1]]</c> (length NodeCount + 1).</summary>
    public int[] TokenStart { get; }

    /// <summary>Token ids grouped by the node they end at.</summary>
    public int[] Tokens { get; }

    /// <summary>Length in bytes of the longest token.</summary>
    public int MaxDepth { get; }

    /// <summary>Number of nodes, root included.</summary>
    public int NodeCount => Bytes.Length;

    /// <summary>Builds the trie of <paramref name="tokens"/> (id, bytes); tokens with no bytes are left out.</summary>
    public static TokenTrie Build(IEnumerable<(int Id, byte[] Bytes)> tokens)
    {
        // Sorting the byte strings puts every subtree in one contiguous run: preorder falls out of the order.
        var sorted = tokens.Where(t => t.Bytes.Length > 0).ToList();
        sorted.Sort((a, b) =>
        {
            int c = a.Bytes.AsSpan().SequenceCompareTo(b.Bytes);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        });

        var bytes = new List<byte> { 0 };
        var depth = new List<int> { 0 };
        var tokenOwner = new List<int>();
        var ids = new List<int>();
        var path = new List<int> { 0 }; // node index at each depth of the current path
        byte[] previous = [];
        int maxDepth = 0;
        foreach (var (id, value) in sorted)
        {
            int common = 0;
            while (common < previous.Length && common < value.Length && previous[common] == value[common])
            {
                common++;
            }

            path.RemoveRange(common + 1, path.Count - common - 1);
            for (int d = common; d < value.Length; d++)
            {
                path.Add(bytes.Count);
                bytes.Add(value[d]);
                depth.Add(d + 1);
            }

            tokenOwner.Add(path[value.Length]);
            ids.Add(id);
            previous = value;
            maxDepth = Math.Max(maxDepth, value.Length);
        }

        int n = bytes.Count;
        var subtreeEnd = new int[n];
        var stack = new Stack<int>();
        for (int i = 0; i < n; i++)
        {
            while (stack.Count > 0 && depth[stack.Peek()] >= depth[i])
            {
                subtreeEnd[stack.Pop()] = i;
            }

            stack.Push(i);
        }

        while (stack.Count > 0)
        {
            subtreeEnd[stack.Pop()] = n;
        }

        // Tokens arrive in node order (sorted strings), so grouping is a prefix count.
        var tokenStart = new int[n + 1];
        foreach (int owner in tokenOwner)
        {
            tokenStart[owner + 1]++;
        }

        for (int i = 0; i < n; i++)
        {
            tokenStart[i + 1] += tokenStart[i];
        }

        return new TokenTrie([.. bytes], [.. depth], subtreeEnd, tokenStart, [.. ids], maxDepth);
    }
}
