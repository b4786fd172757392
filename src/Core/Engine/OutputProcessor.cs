using System.Text;
using RecurrentDepth.Configuration;
using RecurrentDepth.Generation;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Engine;

/// <summary>
/// The per-request output half, run on the caller's side of the stream (never the device thread): turns token ids
/// into text, finds stop strings, and writes the summary (steps, exit values, FLOPs) from the tokens the response
/// actually kept. When a stop string matches, the response ends there; tokens the engine produced after it are
/// dropped here and forgotten by the engine core (see <see cref="EngineRequest.RequestStop"/>).
/// </summary>
internal sealed class OutputProcessor(GenerationRequest request, StreamingDetokenizer detokenizer, int textVocabSize, RavenConfig config)
{
    private readonly StringBuilder _pending = new();
    private readonly List<GeneratedToken> _kept = [];
    private readonly int _longestStop = request.StopSequences.Count == 0 ? 0 : request.StopSequences.Max(s => s.Length);

    /// <summary>Whether a stop string ended the response.</summary>
    public bool StopMatched { get; private set; }

    /// <summary>Tokens the response kept (all tokens until a stop string matched).</summary>
    public int KeptTokens => _kept.Count;

    /// <summary>The update for a new token (its text may be empty while a character or a possible stop string is incomplete).</summary>
    public GenerationUpdate Accept(GeneratedToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (StopMatched)
        {
            throw new InvalidOperationException("The response already ended at a stop string.");
        }

        _kept.Add(token);
        // The model's vocabulary may be padded past the tokenizer's (padded_vocab_size); such ids have no text, as in
        // Hugging Face decoding.
        _pending.Append(token.TokenId < textVocabSize ? detokenizer.Append(token.TokenId) : "");
        if (_longestStop == 0)
        {
            return Take(_pending.Length, token);
        }

        var text = _pending.ToString();
        // The response ends at the earliest stop in the text, whichever the list names first.
        int at = request.StopSequences.Select(stop => text.IndexOf(stop, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        if (at >= 0)
        {
            StopMatched = true;
            var update = new GenerationUpdate(text[..at], token);
            _pending.Clear();
            return update;
        }

        // Hold back the longest tail that could still grow into a stop sequence.
        int hold = 0;
        for (int n = Math.Min(text.Length, _longestStop - 1); n > 0 && hold == 0; n--)
        {
            if (request.StopSequences.Any(s => s.StartsWith(text[^n..], StringComparison.Ordinal)))
            {
                hold = n;
            }
        }

        return Take(text.Length - hold, token);
    }

    /// <summary>Text still held back at the end (an unfinished tail), or null; nothing after a stop string.</summary>
    public GenerationUpdate? Flush()
    {
        if (StopMatched)
        {
            return null; // text after a stop sequence is never sent, not even the bytes of an unfinished character
        }

        var rest = _pending.Append(detokenizer.Flush()).ToString();
        _pending.Clear();
        return rest.Length > 0 ? new GenerationUpdate(rest, null) : null;
    }

    /// <summary>The final update: the summary of the kept tokens and the engine's <paramref name="outcome"/>.</summary>
    public GenerationUpdate Summarize(SequenceOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var summary = new GenerationSummary
        {
            InputTokens = outcome.PromptTokens,
            CachedInputTokens = outcome.CachedInputTokens,
            OutputTokens = _kept.Count,
            TotalSteps = _kept.Sum(g => (long)g.Steps),
            MaxSteps = _kept.Count == 0 ? 0 : _kept.Max(g => g.Steps),
            CapHitTokens = _kept.Count(g => !g.ExitedEarly),
            UnconvergedTokens = _kept.Count(g => g.ExitValue is double v && DepthScheduler.IsUnconverged(request.Depth, v)),
            MaxExitValue = _kept.Any(g => g.ExitValue is not null) ? _kept.Max(g => g.ExitValue ?? double.MinValue) : null,
            EffectiveFlops = EffectiveFlops(outcome.PromptTokens - outcome.CachedInputTokens),
            KvCacheBytes = outcome.KvCacheBytes,
            KvBytesPerToken = outcome.KvBytesPerToken,
            FinishReason = StopMatched ? FinishReason.Stop : outcome.Reason,
            Elapsed = outcome.Elapsed,
            Depth = request.Depth,
        };
        return new GenerationUpdate("", null, summary);
    }

    private GenerationUpdate Take(int length, GeneratedToken token)
    {
        var update = new GenerationUpdate(_pending.ToString(0, length), token);
        _pending.Remove(0, length);
        return update;
    }

    private double EffectiveFlops(int prefilled)
    {
        if (_kept.Count == 0)
        {
            return 0;
        }

        // The first generated token came from the prompt call, which ran its steps over every prefilled position
        // (a reused prefix ran none here).
        double prompt = prefilled * FlopCounter.PerToken(config, _kept[0].Steps);
        return prompt + _kept.Skip(1).Sum(g => FlopCounter.PerToken(config, g.Steps));
    }
}
