using System.Text.Json;

namespace RecurrentDepth.Tokenization;

/// <summary>One entry of tokenizer.json's <c>added_tokens</c>.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>What <see cref="HuginnTokenizer"/> needs from a Hugging Face <c>tokenizer.json</c>.</summary>
internal sealed record TokenizerFileContents(
    IReadOnlyDictionary<string, int> Vocabulary,
    IReadOnlyList<(string Left, string Right)> Merges,
    IReadOnlyList<AddedToken> AddedTokens,
    string SplitPattern,
    IReadOnlyList<int> TemplatePrefix,
    IReadOnlyList<int> TemplateSuffix);

/// <summary>
/// Reads the byte-level BPE tokenizer.json that bpeasy exports (and huginn-0125 ships): model BPE with vocab and
/// merges, no normalizer, pre-tokenizer Sequence[Split(Regex, Removed, invert), ByteLevel(use_regex false)],
/// decoder ByteLevel, post-processor TemplateProcessing. Anything else is reported, naming the field.
/// </summary>
internal static class TokenizerFileReader
{
    public static TokenizerFileContents Read(string path)
    {
        using var document = Parse(path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, "(root)", $"must be a JSON object; found {root.ValueKind}");
        }

        var model = Required(path, root, "model", JsonValueKind.Object);
        if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
        {
            throw Invalid(path, "model.type", $"must be \"BPE\"; found {type}");
        }

        foreach (var name in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (model.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null && value.GetString() is { Length: > 0 })
            {
                throw Invalid(path, $"model.{name}", $"must be null for a byte-level BPE; found {value}");
            }
        }

        var vocabulary = ReadVocabulary(path, Required(path, model, "vocab", JsonValueKind.Object, "model.vocab"));
        var merges = ReadMerges(path, Required(path, model, "merges", JsonValueKind.Array, "model.merges"), vocabulary);
        var added = ReadAddedTokens(path, root);

        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null)
        {
            throw Invalid(path, "normalizer", "must be null (byte-level BPE without normalization)");
        }

        if (root.TryGetProperty("decoder", out var decoder) && decoder.ValueKind != JsonValueKind.Null
            && (!decoder.TryGetProperty("type", out var decoderType) || decoderType.GetString() != "ByteLevel"))
        {
            throw Invalid(path, "decoder", "must be a ByteLevel decoder");
        }

        var pattern = ReadSplitPattern(path, Required(path, root, "pre_tokenizer", JsonValueKind.Object));
        var lookup = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        foreach (var token in added)
        {
            lookup[token.Content] = token.Id;
        }

        var (prefix, suffix) = root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object
            ? ReadTemplate(path, post, "post_processor", lookup)
            : ([], []);
        return new TokenizerFileContents(vocabulary, merges, added, pattern, prefix, suffix);
    }

    public static JsonDocument Parse(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Tokenizer file '{path}' does not exist.", path);
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    public static InvalidDataException Invalid(string path, string field, string problem) =>
        new($"{Path.GetFileName(path)} ({path}): field '{field}' {problem}.");

    private static JsonElement Required(string path, JsonElement parent, string name, JsonValueKind kind, string? fieldPath = null)
    {
        var field = fieldPath ?? name;
        if (!parent.TryGetProperty(name, out var value))
        {
            throw Invalid(path, field, "is missing");
        }

        return value.ValueKind == kind ? value : throw Invalid(path, field, $"must be {kind}; found {value.ValueKind}");
    }

    private static Dictionary<string, int> ReadVocabulary(string path, JsonElement vocab)
    {
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new Dictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw Invalid(path, $"model.vocab[\"{entry.Name}\"]", $"must be a non-negative integer id; found {entry.Value}");
            }

            if (!seen.TryAdd(id, entry.Name))
            {
                throw Invalid(path, "model.vocab", $"gives id {id} to both \"{seen[id]}\" and \"{entry.Name}\"");
            }

            vocabulary[entry.Name] = id;
        }

        if (vocabulary.Count == 0)
        {
            throw Invalid(path, "model.vocab", "is empty");
        }

        return vocabulary;
    }

    private static List<(string, string)> ReadMerges(string path, JsonElement array, Dictionary<string, int> vocabulary)
    {
        var merges = new List<(string, string)>(array.GetArrayLength());
        var index = 0;
        foreach (var merge in array.EnumerateArray())
        {
            var field = $"model.merges[{index}]";
            (string Left, string Right) pair;
            if (merge.ValueKind == JsonValueKind.String)
            {
                // Older form: "left right".
                var parts = merge.GetString()!.Split(' ');
                pair = parts.Length == 2 && parts[0].Length > 0 && parts[1].Length > 0
                    ? (parts[0], parts[1])
                    : throw Invalid(path, field, $"must be two tokens separated by one space; found \"{merge.GetString()}\"");
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                // Newer form: ["left", "right"]. Byte-level tokens never contain a space (it is spelled 'Ġ').
                pair = (merge[0].GetString()!, merge[1].GetString()!);
                if (pair.Left.Contains(' ', StringComparison.Ordinal) || pair.Right.Contains(' ', StringComparison.Ordinal))
                {
                    throw Invalid(path, field, "holds a token with a space, which a byte-level vocabulary cannot contain");
                }
            }
            else
            {
                throw Invalid(path, field, $"must be a string \"a b\" or an array [\"a\", \"b\"]; found {merge}");
            }

            foreach (var token in (string[])[pair.Left, pair.Right, pair.Left + pair.Right])
            {
                if (!vocabulary.ContainsKey(token))
                {
                    throw Invalid(path, field, $"uses or makes \"{token}\", which model.vocab does not contain");
                }
            }

            merges.Add(pair);
            index++;
        }

        return merges;
    }

    private static List<AddedToken> ReadAddedTokens(string path, JsonElement root)
    {
        var added = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return added;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(path, "added_tokens", $"must be an array; found {array.ValueKind}");
        }

        var index = 0;
        foreach (var token in array.EnumerateArray())
        {
            var field = $"added_tokens[{index++}]";
            if (token.ValueKind != JsonValueKind.Object
                || !token.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var value) || value < 0
                || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String || content.GetString()!.Length == 0)
            {
                throw Invalid(path, field, "must be an object with a non-negative integer 'id' and a non-empty string 'content'");
            }

            var special = token.TryGetProperty("special", out var flag) && flag.ValueKind == JsonValueKind.True;
            added.Add(new AddedToken(value, content.GetString()!, special));
        }

        return added;
    }

    private static string ReadSplitPattern(string path, JsonElement preTokenizer)
    {
        const string Expected = "must be Sequence[Split(pattern, behavior \"Removed\", invert true), ByteLevel(add_prefix_space false, use_regex false)]";
        var steps = TypeOf(preTokenizer) == "Sequence"
            ? Required(path, preTokenizer, "pretokenizers", JsonValueKind.Array, "pre_tokenizer.pretokenizers").EnumerateArray().ToList()
            : [preTokenizer];
        if (steps.Count != 2 || TypeOf(steps[0]) != "Split" || TypeOf(steps[1]) != "ByteLevel")
        {
            throw Invalid(path, "pre_tokenizer", Expected);
        }

        var split = steps[0];
        if (!split.TryGetProperty("behavior", out var behavior) || behavior.GetString() != "Removed"
            || !split.TryGetProperty("invert", out var invert) || invert.ValueKind != JsonValueKind.True)
        {
            throw Invalid(path, "pre_tokenizer.pretokenizers[0]", "must split with behavior \"Removed\" and invert true (keep the matches)");
        }

        var byteLevel = steps[1];
        if ((byteLevel.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
            || (byteLevel.TryGetProperty("use_regex", out var useRegex) && useRegex.ValueKind == JsonValueKind.True))
        {
            throw Invalid(path, "pre_tokenizer.pretokenizers[1]", "must be ByteLevel with add_prefix_space false and use_regex false");
        }

        var pattern = Required(path, split, "pattern", JsonValueKind.Object, "pre_tokenizer.pretokenizers[0].pattern");
        if (pattern.TryGetProperty("Regex", out var regex) && regex.ValueKind == JsonValueKind.String)
        {
            return regex.GetString()!;
        }

        if (pattern.TryGetProperty("String", out var literal) && literal.ValueKind == JsonValueKind.String)
        {
            return System.Text.RegularExpressions.Regex.Escape(literal.GetString()!);
        }

        throw Invalid(path, "pre_tokenizer.pretokenizers[0].pattern", "must hold a string 'Regex' or 'String'");
    }

    private static (List<int> Prefix, List<int> Suffix) ReadTemplate(string path, JsonElement processor, string field, Dictionary<string, int> lookup)
    {
        switch (TypeOf(processor))
        {
            case "Sequence":
                var index = 0;
                foreach (var inner in Required(path, processor, "processors", JsonValueKind.Array, $"{field}.processors").EnumerateArray())
                {
                    if (TypeOf(inner) == "TemplateProcessing")
                    {
                        return ReadTemplate(path, inner, $"{field}.processors[{index}]", lookup);
                    }

                    index++;
                }

                return ([], []);
            case "TemplateProcessing":
                break;
            default:
                return ([], []); // ByteLevel and friends only adjust offsets; they add no tokens.
        }

        var prefix = new List<int>();
        var suffix = new List<int>();
        var sawSequence = false;
        var position = 0;
        foreach (var piece in Required(path, processor, "single", JsonValueKind.Array, $"{field}.single").EnumerateArray())
        {
            var pieceField = $"{field}.single[{position++}]";
            if (piece.TryGetProperty("Sequence", out _))
            {
                sawSequence = sawSequence
                    ? throw Invalid(path, pieceField, "repeats the sequence $A")
                    : true;
            }
            else if (piece.TryGetProperty("SpecialToken", out var special)
                     && special.TryGetProperty("id", out var name) && name.ValueKind == JsonValueKind.String)
            {
                var ids = SpecialTokenIds(path, processor, field, name.GetString()!, lookup);
                (sawSequence ? suffix : prefix).AddRange(ids);
            }
            else
            {
                throw Invalid(path, pieceField, "must be {\"Sequence\": …} or {\"SpecialToken\": {\"id\": …}}");
            }
        }

        return sawSequence ? (prefix, suffix) : throw Invalid(path, $"{field}.single", "has no sequence $A");
    }

    private static IEnumerable<int> SpecialTokenIds(string path, JsonElement processor, string field, string name, Dictionary<string, int> lookup)
    {
        if (processor.TryGetProperty("special_tokens", out var table) && table.ValueKind == JsonValueKind.Object
            && table.TryGetProperty(name, out var entry) && entry.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
        {
            return ids.EnumerateArray().Select(id => id.TryGetInt32(out var value) ? value
                : throw Invalid(path, $"{field}.special_tokens[\"{name}\"].ids", $"must hold integer ids; found {id}")).ToList();
        }

        return lookup.TryGetValue(name, out var single)
            ? [single]
            : throw Invalid(path, $"{field}.single", $"names the special token \"{name}\", which neither special_tokens nor the vocabulary defines");
    }

    private static string? TypeOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()
            : null;
}
