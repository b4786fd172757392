namespace RecurrentDepth.Caching;

/// <summary>
/// A bounded, least-recently-used store of finished conversations' key/value caches (every recurrence slot), keyed by
/// the exact tokens they hold. A new prompt that starts with the whole of a stored conversation takes that cache over
/// and prefills only the tokens after it, so an agent's next turn does not pay r core passes per earlier token again.
/// </summary>
/// <remarks>
/// <para>Reuse is exact for every cache strategy, compressed ones included: a strategy only decides which recurrence
/// slots share storage within a position, and no position's entries depend on a later position, so a stored cache is
/// exactly the state of a sequence that ran those tokens. Requests with continuous compute are not reused (their next
/// token would start from the previous token's latent, which the store does not keep).</para>
/// <para>A taken cache leaves the store (the new sequence owns and extends it, and stores it again when it ends), so
/// two concurrent requests never share tensors. A prompt that only re-sends a stored conversation's prompt (the same
/// request again) is not a continuation and prefills in full: its output must not depend on earlier requests.</para>
/// <para>Owned by the engine thread; not thread-safe except <see cref="Bytes"/> and <see cref="Count"/>.</para>
/// </remarks>
public sealed class PrefixCache : IDisposable
{
    private readonly LinkedList<Entry> _entries = new(); // most recently used first
    private long _bytes;
    private int _count;

    /// <summary>Creates a store that holds at most <paramref name="capacityBytes"/> bytes of allocated cache.</summary>
    public PrefixCache(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    /// <summary>Most bytes held.</summary>
    public long CapacityBytes { get; }

    /// <summary>Bytes of key/value storage held now (allocated, capacity included).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Conversations held now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Stores <paramref name="cache"/>, which holds exactly <paramref name="tokens"/> (its first
    /// <see cref="SequenceKvCache.Length"/> positions), taking ownership. Entries it extends are dropped; least recently
    /// used entries are dropped until it fits; a cache larger than the whole store is disposed at once.
    /// </summary>
    /// <param name="tokens">Tokens of every cached position, in order (prompt and generated tokens fed to the model).</param>
    /// <param name="promptLength">How many of them were the stored request's prompt (a continuation must go past them).</param>
    /// <param name="cache">The finished sequence's cache.</param>
    public void Add(IReadOnlyList<int> tokens, int promptLength, SequenceKvCache cache)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(cache);
        if (tokens.Count != cache.Length || tokens.Count == 0)
        {
            cache.Dispose();
            throw new ArgumentException($"The cache holds {cache.Length} positions but {tokens.Count} tokens were given.", nameof(tokens));
        }

        long size = cache.AllocatedBytes;
        if (size > CapacityBytes)
        {
            cache.Dispose();
            return;
        }

        for (var node = _entries.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Cache.Strategy == cache.Strategy && IsPrefix(node.Value.Tokens, tokens))
            {
                Drop(node);
            }

            node = next;
        }

        while (_bytes + size > CapacityBytes && _entries.Last is { } oldest)
        {
            Drop(oldest);
        }

        _entries.AddFirst(new Entry([.. tokens], Math.Clamp(promptLength, 1, tokens.Count), cache, size));
        Interlocked.Add(ref _bytes, size);
        Interlocked.Increment(ref _count);
    }

    /// <summary>
    /// Takes the longest stored conversation under <paramref name="strategy"/> that <paramref name="prompt"/> continues
    /// (starts with all of its stored prompt and at least part of its answer, leaving at least one prompt token to
    /// prefill) and truncates it to the shared tokens. Returns null when none matches. The caller owns the result.
    /// </summary>
    public SequenceKvCache? Take(IReadOnlyList<int> prompt, CacheStrategy strategy)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(strategy);
        LinkedListNode<Entry>? best = null;
        int bestShared = 0;
        for (var node = _entries.First; node is not null; node = node.Next)
        {
            var entry = node.Value;
            if (entry.Cache.Strategy != strategy)
            {
                continue;
            }

            // At least one prompt token must run through the model: its logits give the first new token.
            int shared = Math.Min(CommonPrefix(entry.Tokens, prompt), prompt.Count - 1);
            if (shared > entry.PromptLength && shared > bestShared)
            {
                best = node;
                bestShared = shared;
            }
        }

        if (best is null)
        {
            return null;
        }

        _entries.Remove(best);
        Interlocked.Add(ref _bytes, -best.Value.Bytes);
        Interlocked.Decrement(ref _count);
        var cache = best.Value.Cache;
        cache.Truncate(cache.Length - bestShared);
        return cache;
    }

    /// <summary>Drops the least recently used conversation (freeing its blocks); false when the cache is empty.</summary>
    public bool DropOldest()
    {
        if (_entries.Last is not { } oldest)
        {
            return false;
        }

        Drop(oldest);
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        while (_entries.First is { } node)
        {
            Drop(node);
        }
    }

    private void Drop(LinkedListNode<Entry> node)
    {
        _entries.Remove(node);
        node.Value.Cache.Dispose();
        Interlocked.Add(ref _bytes, -node.Value.Bytes);
        Interlocked.Decrement(ref _count);
    }

    private static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = Math.Min(a.Count, b.Count), i = 0;
        while (i < n && a[i] == b[i])
        {
            i++;
        }

        return i;
    }

    private static bool IsPrefix(IReadOnlyList<int> shorter, IReadOnlyList<int> longer) =>
        shorter.Count <= longer.Count && CommonPrefix(shorter, longer) == shorter.Count;

    private sealed record Entry(int[] Tokens, int PromptLength, SequenceKvCache Cache, long Bytes);
}
