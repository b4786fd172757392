namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// A small byte trie over a fixed set of byte strings (enum and const values, object keys), each string carrying a
/// value index. Node 0 is the root. Knows per node which values lie below it (as a 64-bit set) and how many bytes
/// the nearest string end is away.
/// </summary>
internal sealed class LiteralTrie
{
    private readonly List<Dictionary<byte, int>> _children = [new()];
    private readonly List<int> _value = [-1];
    private readonly List<ulong> _below = [0];
    private readonly List<int> _depth = [0];
    private int[] _minToEnd = [];

    /// <summary>Builds the trie of <paramref name="strings"/>; string <c>k</c> gets value <c>k</c> (at most 64 strings).</summary>
    public LiteralTrie(IReadOnlyList<byte[]> strings)
    {
        for (int k = 0; k < strings.Count; k++)
        {
            int node = 0;
            _below[0] |= Bit(k);
            foreach (byte b in strings[k])
            {
                if (!_children[node].TryGetValue(b, out int next))
                {
                    next = _children.Count;
                    _children[node][b] = next;
                    _children.Add([]);
                    _value.Add(-1);
                    _below.Add(0);
                    _depth.Add(_depth[node] + 1);
                }

                node = next;
                _below[node] |= Bit(k);
            }

            if (_value[node] < 0)
            {
                _value[node] = k;
            }
        }

        _minToEnd = new int[_children.Count];
        for (int node = _children.Count - 1; node >= 0; node--)
        {
            // Children always have larger indexes, so one backward pass sees them first.
            int best = _value[node] >= 0 ? 0 : int.MaxValue;
            foreach (int child in _children[node].Values)
            {
                if (_minToEnd[child] != int.MaxValue)
                {
                    best = Math.Min(best, _minToEnd[child] + 1);
                }
            }

            _minToEnd[node] = best;
        }
    }

    /// <summary>The node after <paramref name="b"/>, or −1.</summary>
    public int Next(int node, byte b) => _children[node].TryGetValue(b, out int next) ? next : -1;

    /// <summary>Index of the string ending at <paramref name="node"/>, or −1.</summary>
    public int ValueAt(int node) => _value[node];

    /// <summary>Whether some string continues past <paramref name="node"/>.</summary>
    public bool HasChildren(int node) => _children[node].Count > 0;

    /// <summary>The set of string indexes at or below <paramref name="node"/>.</summary>
    public ulong Below(int node) => _below[node];

    /// <summary>Bytes from the root to <paramref name="node"/>.</summary>
    public int DepthOf(int node) => _depth[node];

    /// <summary>Fewest bytes from <paramref name="node"/> to the end of some string.</summary>
    public int MinToEnd(int node) => _minToEnd[node];

    private static ulong Bit(int k) => k < 64 ? 1UL << k : 0;
}
