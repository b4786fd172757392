namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// The grammar state of a response that must match a regular expression in full: one automaton state. Masks depend
/// only on that state while the token budget is loose, so each state's mask is computed once (one trie walk) and
/// reused; near the end of the budget, tokens that leave the match unfinishable in time are dropped as well.
/// </summary>
internal sealed class RegexTokenConstraint : ITokenConstraint
{
    private readonly TokenVocabulary _vocabulary;
    private readonly ByteDfa _dfa;
    private readonly Dictionary<int, ulong[]> _cache;
    private readonly int[] _slots;
    private int _state;
    private int _remaining;
    private bool _ended;

    public RegexTokenConstraint(TokenVocabulary vocabulary, ByteDfa dfa, Dictionary<int, ulong[]> sharedCache, int tokenBudget)
    {
        _vocabulary = vocabulary;
        _dfa = dfa;
        _cache = sharedCache;
        _remaining = tokenBudget;
        _slots = new int[vocabulary.All.MaxDepth + 1];
    }

    /// <inheritdoc />
    public bool IsComplete => _dfa.Accepting[_state];

    /// <inheritdoc />
    public void WriteAllowed(Span<ulong> words)
    {
        if (_ended)
        {
            return;
        }

        int budget = _remaining - 1;
        if (budget >= _dfa.MaxDistance)
        {
            ulong[] mask;
            lock (_cache)
            {
                if (!_cache.TryGetValue(_state, out mask!))
                {
                    mask = new ulong[_vocabulary.Words];
                    Walk(mask, int.MaxValue);
                    _cache[_state] = mask;
                }
            }

            for (int w = 0; w < words.Length && w < mask.Length; w++)
            {
                words[w] |= mask[w];
            }
        }
        else
        {
            Walk(words, budget);
        }

        if (IsComplete)
        {
            _vocabulary.AllowEnds(words);
        }
    }

    /// <inheritdoc />
    public void Accept(int tokenId)
    {
        if (_ended)
        {
            throw new InvalidOperationException($"Token {tokenId} came after the end of the constrained output.");
        }

        if (_vocabulary.IsEnd(tokenId))
        {
            _ended = IsComplete ? true : throw new InvalidOperationException($"End-of-turn token {tokenId} is not allowed: the text does not match the pattern yet.");
            return;
        }

        var bytes = (uint)tokenId < (uint)_vocabulary.TokenBytes.Length ? _vocabulary.TokenBytes[tokenId] : null;
        int state = _state;
        foreach (byte b in bytes ?? throw new InvalidOperationException($"Token {tokenId} has no bytes and is not allowed in constrained output."))
        {
            state = _dfa.Next[state * 256 + b];
            if (state < 0)
            {
                throw new InvalidOperationException($"Token {tokenId} is not allowed here by the pattern.");
            }
        }

        _state = state;
        _remaining--;
    }

    private void Walk(Span<ulong> words, int budget)
    {
        var trie = _vocabulary.All;
        _slots[0] = _state;
        int i = 1;
        while (i < trie.NodeCount)
        {
            int depth = trie.Depth[i];
            int next = _dfa.Next[_slots[depth - 1] * 256 + trie.Bytes[i]];
            if (next < 0)
            {
                i = trie.SubtreeEnd[i];
                continue;
            }

            _slots[depth] = next;
            if (_dfa.Distance[next] <= budget)
            {
                for (int t = trie.TokenStart[i]; t < trie.TokenStart[i + 1]; t++)
                {
                    TokenVocabulary.Set(words, trie.Tokens[t]);
                }
            }

            i++;
        }
    }
}
