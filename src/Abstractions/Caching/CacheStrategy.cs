using System.Globalization;
using System.Text.RegularExpressions;

namespace RecurrentDepth.Caching;

/// <summary>How a past token is read at a slot it has no entry for (only after early exit leaves holes).</summary>
public enum CacheLookup
{
    /// <summary>Attend to whatever entries the slot has: tokens without one are left out (reference default).</summary>
    Full,

    /// <summary>Same as <see cref="Full"/>: only tokens that have this exact slot.</summary>
    Skip,

    /// <summary>Each token's latest recurrence ≤ the current one, same core layer (reference <c>latest-m4</c>; recommended with early exit).</summary>
    Latest,

    /// <summary>The token's own entry if present, else as <see cref="Latest"/> (reference <c>available-m4</c>).</summary>
    Available,

    /// <summary>The token's deepest recurrence overall, same core layer (reference <c>always-last-m4</c>).</summary>
    AlwaysLast,
}

/// <summary>How core slots are shared to bound memory (KV sharing).</summary>
public enum CacheCompression
{
    /// <summary>Every recurrence keeps its own slots.</summary>
    None,

    /// <summary><c>compress-sK</c>: K layer slots in a ring; recurrence i writes slot (i·core + l) mod K.</summary>
    Ring,

    /// <summary><c>compress-rN</c>: N consecutive layer applications share one slot.</summary>
    Group,

    /// <summary><c>compress-anchor</c>: the first 8 recurrences keep their slots, later ones share one recurrence's.</summary>
    Anchor,
}

/// <summary>
/// A KV-cache strategy: a lookup rule plus an optional compression, parsed from and printed as the reference's
/// strings (<c>full</c>, <c>latest-m4</c>, <c>compress-s16</c>, <c>latest-m4-compress-s4</c>, ...). "m4" in the
/// reference means "same core layer" for its 4-layer core; here the core layer count comes from the config.
/// </summary>
/// <param name="Lookup">How holes are filled.</param>
/// <param name="Compression">How slots are shared.</param>
/// <param name="CompressionSize">K for <see cref="CacheCompression.Ring"/>, N for <see cref="CacheCompression.Group"/>; 0 otherwise.</param>
public sealed partial record CacheStrategy(CacheLookup Lookup, CacheCompression Compression = CacheCompression.None, int CompressionSize = 0)
{
    /// <summary>Recurrences that keep their own slots under <see cref="CacheCompression.Anchor"/>.</summary>
    public const int AnchorRecurrences = 8;

    /// <summary>The reference default: every slot kept, holes skipped.</summary>
    public static CacheStrategy Full { get; } = new(CacheLookup.Full);

    /// <summary>Recommended with early exit: fill holes from each token's latest recurrence.</summary>
    public static CacheStrategy Latest { get; } = new(CacheLookup.Latest);

    [GeneratedRegex(@"^(?:(?<lookup>full|skip|latest-m4|available-m4|always-last-m4)(?:-(?=compress-)|$))?(?:compress-(?:(?<kind>[sr])(?<n>\d+)|(?<anchor>anchor)))?$")]
    private static partial Regex Pattern();

    /// <summary>Parses a reference strategy string.</summary>
    /// <exception cref="ArgumentException">The string is not a known strategy (the message lists the accepted forms).</exception>
    public static CacheStrategy Parse(string text, string paramName = "cache_strategy")
    {
        ArgumentNullException.ThrowIfNull(text);
        var key = text.Trim().ToLowerInvariant();
        var m = Pattern().Match(key);
        if (key.Length == 0 || !m.Success)
        {
            throw new ArgumentException(
                $"Cache strategy '{text}' is unknown; expected full, skip, latest-m4, available-m4, always-last-m4, compress-sK, compress-rN, " +
                "compress-anchor, or a lookup and a compression joined by '-' (e.g. latest-m4-compress-s16).", paramName);
        }

        var lookup = m.Groups["lookup"].Value switch
        {
            "skip" => CacheLookup.Skip,
            "latest-m4" => CacheLookup.Latest,
            "available-m4" => CacheLookup.Available,
            "always-last-m4" => CacheLookup.AlwaysLast,
            _ => CacheLookup.Full,
        };
        if (m.Groups["anchor"].Success)
        {
            return new CacheStrategy(lookup, CacheCompression.Anchor);
        }

        if (m.Groups["kind"].Success)
        {
            if (!int.TryParse(m.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
            {
                throw new ArgumentException($"Cache strategy '{text}': the compression size must be a whole number from 1 to {int.MaxValue}.", paramName);
            }

            return new CacheStrategy(lookup, m.Groups["kind"].Value == "s" ? CacheCompression.Ring : CacheCompression.Group, n);
        }

        return new CacheStrategy(lookup);
    }

    /// <summary>The reference string for this strategy.</summary>
    public override string ToString()
    {
        string lookup = Lookup switch
        {
            CacheLookup.Skip => "skip",
            CacheLookup.Latest => "latest-m4",
            CacheLookup.Available => "available-m4",
            CacheLookup.AlwaysLast => "always-last-m4",
            _ => "full",
        };
        string? compression = Compression switch
        {
            CacheCompression.Ring => $"compress-s{CompressionSize}",
            CacheCompression.Group => $"compress-r{CompressionSize}",
            CacheCompression.Anchor => "compress-anchor",
            _ => null,
        };
        return compression is null ? lookup : Lookup == CacheLookup.Full ? compression : $"{lookup}-{compression}";
    }
}
