using System.Collections.Concurrent;

namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// The engine's constrained-decoding compiler: JSON (any value), JSON Schema, text-or-JSON-Schema (tool calls) and
/// regular expressions, over one model vocabulary. The vocabulary tables are built on first use; compiled grammars
/// are cached by their text, so repeated requests with one schema or pattern compile once.
/// </summary>
public sealed class TokenConstraintFactory : ITokenConstraintFactory
{
    private const int CacheLimit = 256;
    private readonly Lazy<TokenVocabulary> _vocabulary;
    private readonly ConcurrentDictionary<(OutputConstraintKind, string), object> _compiled = new();

    /// <summary>Creates a factory whose vocabulary tables come from <paramref name="vocabulary"/> on first use.</summary>
    public TokenConstraintFactory(Func<TokenVocabulary> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = new Lazy<TokenVocabulary>(vocabulary, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Creates a factory over a built vocabulary.</summary>
    public TokenConstraintFactory(TokenVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = new Lazy<TokenVocabulary>(vocabulary);
    }

    /// <summary>The vocabulary tables (built on first access).</summary>
    public TokenVocabulary Vocabulary => _vocabulary.Value;

    /// <inheritdoc />
    public ITokenConstraint Create(OutputConstraint constraint, int vocabSize) => Create(constraint, vocabSize, int.MaxValue);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// The schema or pattern is missing, malformed, uses an unsupported feature or admits no value (the message names the
    /// feature and where it is), or it cannot be completed within <paramref name="tokenBudget"/> tokens.
    /// </exception>
    public ITokenConstraint Create(OutputConstraint constraint, int vocabSize, int tokenBudget)
    {
        ArgumentNullException.ThrowIfNull(constraint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokenBudget);
        var vocabulary = _vocabulary.Value;
        if (vocabSize != vocabulary.Size)
        {
            throw new ArgumentException($"The constraint vocabulary has {vocabulary.Size} ids; the model has {vocabSize}.", nameof(vocabSize));
        }

        if (constraint.Kind == OutputConstraintKind.Regex)
        {
            var pattern = constraint.Pattern ?? throw new ArgumentException("OutputConstraint.Pattern is required for a Regex constraint.", nameof(constraint));
            var (dfa, cache) = ((ByteDfa, Dictionary<int, ulong[]>))Compiled(constraint.Kind, pattern, () => (ByteDfa.Compile(pattern), new Dictionary<int, ulong[]>()));
            Feasible(dfa.Distance[0], tokenBudget, "the pattern");
            return new RegexTokenConstraint(vocabulary, dfa, cache, tokenBudget);
        }

        RootNode[] roots = constraint.Kind switch
        {
            OutputConstraintKind.Json => [new RootNode(JsonSchemaCompiler.AnyJson)],
            OutputConstraintKind.JsonSchema => [Schema(constraint)],
            OutputConstraintKind.JsonSchemaOrText => [new RootNode(new TextNode()), Schema(constraint)],
            _ => throw new ArgumentException($"Unknown output constraint kind {constraint.Kind}.", nameof(constraint)),
        };
        Feasible(roots.Min(r => r.MinBytes), tokenBudget, "the schema");
        return new JsonTokenConstraint(vocabulary, roots, tokenBudget);
    }

    private RootNode Schema(OutputConstraint constraint)
    {
        var schema = constraint.Schema ?? throw new ArgumentException($"OutputConstraint.Schema is required for a {constraint.Kind} constraint.", nameof(constraint));
        return (RootNode)Compiled(OutputConstraintKind.JsonSchema, schema, () => new RootNode(JsonSchemaCompiler.Compile(schema)));
    }

    private object Compiled(OutputConstraintKind kind, string text, Func<object> compile)
    {
        if (_compiled.TryGetValue((kind, text), out var hit))
        {
            return hit;
        }

        var value = compile();
        if (_compiled.Count < CacheLimit)
        {
            _compiled.TryAdd((kind, text), value);
        }

        return value;
    }

    private static void Feasible(int minBytes, int tokenBudget, string what)
    {
        // The end-of-turn token needs one more; each byte has its own token in a byte-level vocabulary.
        if (minBytes > tokenBudget)
        {
            throw new ArgumentException($"The shortest output {what} allows takes {minBytes} tokens, more than the {tokenBudget} the request may generate; raise the token limit.", "constraint");
        }
    }
}
