namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// The grammar state of one JSON-shaped response (any JSON, a JSON Schema, or text-or-a-tool-call) over a
/// <see cref="TokenVocabulary"/>. A mask is the union over the current readings: inside a string it is a copy of the
/// precomputed plain-content mask plus a walk of the tokens that can end or escape the string; elsewhere a walk of
/// the token trie that skips every subtree the grammar rejects at its first byte. A token is allowed only if the
/// output can still be completed within the token budget left (every byte has a one-byte token in a byte-level
/// vocabulary), so a response never runs out of tokens halfway through a value.
/// </summary>
internal sealed class JsonTokenConstraint : ITokenConstraint
{
    private readonly TokenVocabulary _vocabulary;
    private AltBuffer _current = new();
    private AltBuffer _spare = new();
    private readonly AltBuffer[] _slots;
    private int _remaining;
    private bool _ended;
    private ulong[]? _cachedMask;
    private FrameLink? _cachedRest;
    private GrammarNode? _cachedNode;
    private int _cachedTail;
    private int _cachedNeeds;

    /// <param name="vocabulary">The model's vocabulary.</param>
    /// <param name="roots">The readings to start from (one per top-level alternative).</param>
    /// <param name="tokenBudget">Tokens the response may take, end of turn included.</param>
    public JsonTokenConstraint(TokenVocabulary vocabulary, IEnumerable<RootNode> roots, int tokenBudget)
    {
        _vocabulary = vocabulary;
        _remaining = tokenBudget;
        foreach (var root in roots)
        {
            _current.Add(Alt.Start(root));
        }

        _slots = new AltBuffer[vocabulary.All.MaxDepth + 1];
        for (int d = 0; d < _slots.Length; d++)
        {
            _slots[d] = new AltBuffer();
        }
    }

    /// <inheritdoc />
    public bool IsComplete
    {
        get
        {
            for (int k = 0; k < _current.Count; k++)
            {
                if (JsonMatcher.MinCompletion(_current.Items[k]) == 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <inheritdoc />
    public void WriteAllowed(Span<ulong> words)
    {
        if (_ended)
        {
            return;
        }

        for (int k = 0; k < _current.Count; k++)
        {
            WriteAllowed(_current.Items[k], words);
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
            if (!IsComplete)
            {
                throw new InvalidOperationException($"End-of-turn token {tokenId} is not allowed: the constrained output is not complete.");
            }

            _ended = true;
            return;
        }

        var bytes = (uint)tokenId < (uint)_vocabulary.TokenBytes.Length ? _vocabulary.TokenBytes[tokenId] : null;
        if (bytes is null)
        {
            throw new InvalidOperationException($"Token {tokenId} has no bytes (a special token) and is not allowed in constrained output.");
        }

        foreach (byte b in bytes)
        {
            _spare.Count = 0;
            for (int k = 0; k < _current.Count; k++)
            {
                JsonMatcher.Step(_current.Items[k], b, _spare);
            }

            (_current, _spare) = (_spare, _current);
        }

        if (_current.Count == 0)
        {
            throw new InvalidOperationException($"Token {tokenId} is not allowed here by the output constraint.");
        }

        _remaining--;
    }

    private void WriteAllowed(in Alt alt, Span<ulong> words)
    {
        int budget = _remaining - 1; // bytes that may still follow the next token
        if (JsonMatcher.MinCompletion(alt) <= budget)
        {
            switch (alt.Top.Node)
            {
                case TextNode:
                    Or(words, _vocabulary.AnyText);
                    return;
                case RootNode { Value: TextNode } when alt.Top.Phase == 0:
                    Or(words, _vocabulary.TextStart);
                    return;
            }

            if (JsonMatcher.InPlainString(alt, out int room))
            {
                // Plain content never raises the bytes needed to finish, so all of it within the room is allowed.
                Or(words, _vocabulary.PlainUpTo[Math.Clamp(room, 0, _vocabulary.MaxPlainChars)]);
                bool lengthSettled = alt.Top.Node is StringNode { MaxLength: int.MaxValue } s && alt.Top.Index >= s.MinLength;
                if (!lengthSettled)
                {
                    Walk(_vocabulary.NonPlain, alt, budget, words);
                    return;
                }

                // Within one string the walk's result depends only on what encloses the string, which stays the same
                // object from token to token; it is reused while the budget still covers every token it allowed.
                if (_cachedMask is null || _cachedRest != alt.Rest || _cachedNode != alt.Top.Node || _cachedTail != alt.Top.Tail || _cachedNeeds > budget)
                {
                    _cachedMask ??= new ulong[_vocabulary.Words];
                    Array.Clear(_cachedMask);
                    _cachedNeeds = Walk(_vocabulary.NonPlainSuffixes, alt, budget, _cachedMask);
                    (_cachedRest, _cachedNode, _cachedTail) = (alt.Rest, alt.Top.Node, alt.Top.Tail);
                }

                Or(words, _cachedMask);
                return;
            }
        }

        Walk(_vocabulary.All, alt, budget, words);
    }

    // One forward pass over the preorder trie: slot d holds the readings after the first d bytes of the current node.
    // Returns the largest completion need among the tokens it allowed.
    private int Walk(TokenTrie trie, in Alt alt, int budget, Span<ulong> words)
    {
        int needs = 0;
        var root = _slots[0];
        root.Count = 0;
        root.Add(alt);
        int i = 1;
        while (i < trie.NodeCount)
        {
            int depth = trie.Depth[i];
            var from = _slots[depth - 1];
            var to = _slots[depth];
            to.Count = 0;
            byte b = trie.Bytes[i];
            for (int k = 0; k < from.Count; k++)
            {
                JsonMatcher.Step(from.Items[k], b, to);
            }

            if (to.Count == 0)
            {
                i = trie.SubtreeEnd[i];
                continue;
            }

            int start = trie.TokenStart[i], end = trie.TokenStart[i + 1];
            if (start < end && Need(to) is var need && need <= budget)
            {
                needs = Math.Max(needs, need);
                for (int t = start; t < end; t++)
                {
                    TokenVocabulary.Set(words, trie.Tokens[t]);
                }
            }

            i++;
        }

        return needs;
    }

    // Fewest bytes any of the readings needs to complete.
    private static int Need(AltBuffer readings)
    {
        int best = int.MaxValue;
        for (int k = 0; k < readings.Count; k++)
        {
            best = Math.Min(best, JsonMatcher.MinCompletion(readings.Items[k]));
        }

        return best;
    }

    private static void Or(Span<ulong> words, ulong[] mask)
    {
        int n = Math.Min(words.Length, mask.Length);
        for (int w = 0; w < n; w++)
        {
            words[w] |= mask[w];
        }
    }
}
