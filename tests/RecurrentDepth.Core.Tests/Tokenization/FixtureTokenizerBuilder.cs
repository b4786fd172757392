using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Tests.Tokenization;

/// <summary>
/// Generates tests/fixtures/huginn-tiny/tokenizer.json and tokenizer_config.json: a 512-id byte-level BPE tokenizer in
/// the structure of huginn-0125's bpeasy export. Ids 0–255 are the bytes, 256–479 are merges learned here on
/// <see cref="Corpus"/>, 480–511 are huginn's 32 special tokens in huginn's order. Deterministic: the same code writes
/// the same bytes, which <c>FixtureTokenizerTests</c> checks against the committed files.
/// </summary>
public static class FixtureTokenizerBuilder
{
    public const int VocabSize = 512;

    public const int ByteTokens = 256;

    public static int FirstSpecialId => VocabSize - HuginnSpecialTokens.All.Count;

    /// <summary>
    /// GPT-4 style split in the spirit of huginn's (not huginn's exact regex): contractions, letter runs with one
    /// leading non-letter, single digits, punctuation runs with a leading space, newline runs, other white space.
    /// </summary>
    public const string SplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The training text: a little English prose and code, enough for 224 merges.</summary>
    public const string Corpus = """
        The recurrent-depth model reads a prompt, thinks in a latent space, and then writes its answer one token at a time.
        Each token passes through the prelude, then the core block is repeated many times, and the coda turns the final
        state into logits over the vocabulary. More recurrence means more compute and, often, a better answer.
        The tokenizer splits the text into words, numbers and punctuation, and then merges frequent byte pairs into tokens.
        She said that the weather would be fine tomorrow, but we didn't believe her and took our umbrellas anyway.
        It's a small world: they're here, we've seen them, I'm sure you'll like them, and he'd agree.
        In 2025 the team trained the model on 800 billion tokens of text, code and mathematics.

        public sealed class Counter
        {
            private int _count;

            public int Count => _count;

            public void Increment(int step = 1)
            {
                if (step <= 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(step));
                }

                _count += step;
            }
        }

        def fibonacci(n: int) -> list[int]:
            result = [0, 1]
            for i in range(2, n):
                result.append(result[i - 1] + result[i - 2])
            return result[:n]

        for (var index = 0; index < items.Count; index++)
        {
            Console.WriteLine($"{index}: {items[index]}");
        }

        # Notes
        - The function returns the value of the string.
        - The return value is a list of the numbers in the input.
        """;

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="folder"/>.</summary>
    public static void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var (merges, tokens) = LearnMerges(FirstSpecialId - ByteTokens);
        File.WriteAllBytes(Path.Combine(folder, HuginnTokenizer.TokenizerFileName), TokenizerJson(merges, tokens));
        File.WriteAllBytes(Path.Combine(folder, HuginnTokenizer.ConfigFileName), TokenizerConfigJson());
    }

    /// <summary>
    /// Learns byte-pair merges until they have made <paramref name="count"/> new tokens: most frequent pair first, ties
    /// to the ordinally smallest pair. A merge whose result is already a token is kept as a rule but makes no new id.
    /// </summary>
    public static (List<(string Left, string Right)> Merges, List<string> NewTokens) LearnMerges(int count)
    {
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match match in Regex.Matches(Corpus.ReplaceLineEndings("\n"), SplitPattern))
        {
            var word = ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(match.Value));
            words[word] = words.GetValueOrDefault(word) + 1;
        }

        var symbols = words.Select(w => (Parts: w.Key.Select(c => c.ToString()).ToList(), Frequency: w.Value)).ToList();
        var merges = new List<(string, string)>(count);
        var newTokens = new List<string>(count);
        var known = new HashSet<string>(Enumerable.Range(0, ByteTokens).Select(b => ByteLevelAlphabet.ToChar((byte)b).ToString()), StringComparer.Ordinal);
        while (newTokens.Count < count)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (parts, frequency) in symbols)
            {
                for (var i = 0; i + 1 < parts.Count; i++)
                {
                    pairs[(parts[i], parts[i + 1])] = pairs.GetValueOrDefault((parts[i], parts[i + 1])) + frequency;
                }
            }

            if (pairs.Count == 0)
            {
                throw new InvalidOperationException($"The corpus ran out of pairs after {newTokens.Count} new tokens; {count} are needed.");
            }

            var best = pairs.OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal)
                .ThenBy(p => p.Key.Item2, StringComparer.Ordinal)
                .First().Key;
            merges.Add(best);
            if (known.Add(best.Item1 + best.Item2))
            {
                newTokens.Add(best.Item1 + best.Item2);
            }

            foreach (var (parts, _) in symbols)
            {
                for (var i = 0; i + 1 < parts.Count; i++)
                {
                    if (parts[i] == best.Item1 && parts[i + 1] == best.Item2)
                    {
                        parts[i] += parts[i + 1];
                        parts.RemoveAt(i + 1);
                    }
                }
            }
        }

        return (merges, newTokens);
    }

    private static byte[] TokenizerJson(List<(string Left, string Right)> merges, List<string> newTokens)
    {
        return WriteJson(w =>
        {
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            for (var i = 0; i < HuginnSpecialTokens.All.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", FirstSpecialId + i);
                w.WriteString("content", HuginnSpecialTokens.All[i]);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            w.WriteStartObject();
            w.WriteString("type", "Split");
            w.WriteStartObject("pattern");
            w.WriteString("Regex", SplitPattern);
            w.WriteEndObject();
            w.WriteString("behavior", "Removed");
            w.WriteBoolean("invert", true);
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", false);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            WritePostProcessor(w);
            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", true);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (var b = 0; b < ByteTokens; b++)
            {
                w.WriteNumber(ByteLevelAlphabet.ToChar((byte)b).ToString(), b);
            }

            for (var i = 0; i < newTokens.Count; i++)
            {
                w.WriteNumber(newTokens[i], ByteTokens + i);
            }

            for (var i = 0; i < HuginnSpecialTokens.All.Count; i++)
            {
                w.WriteNumber(HuginnSpecialTokens.All[i], FirstSpecialId + i);
            }

            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (left, right) in merges)
            {
                w.WriteStringValue($"{left} {right}");
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WritePostProcessor(Utf8JsonWriter w)
    {
        void Special(string token, int typeId)
        {
            w.WriteStartObject();
            w.WriteStartObject("SpecialToken");
            w.WriteString("id", token);
            w.WriteNumber("type_id", typeId);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        void Sequence(string id, int typeId)
        {
            w.WriteStartObject();
            w.WriteStartObject("Sequence");
            w.WriteString("id", id);
            w.WriteNumber("type_id", typeId);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteStartObject("post_processor");
        w.WriteString("type", "TemplateProcessing");
        w.WriteStartArray("single");
        Special(HuginnSpecialTokens.BeginText, 0);
        Sequence("A", 0);
        Special(HuginnSpecialTokens.EndText, 0);
        w.WriteEndArray();
        w.WriteStartArray("pair");
        Special(HuginnSpecialTokens.BeginText, 0);
        Sequence("A", 0);
        Special(HuginnSpecialTokens.EndText, 0);
        Special(HuginnSpecialTokens.BeginText, 1);
        Sequence("B", 1);
        Special(HuginnSpecialTokens.EndText, 1);
        w.WriteEndArray();
        w.WriteStartObject("special_tokens");
        foreach (var token in (string[])[HuginnSpecialTokens.BeginText, HuginnSpecialTokens.EndText])
        {
            w.WriteStartObject(token);
            w.WriteString("id", token);
            w.WriteStartArray("ids");
            w.WriteNumberValue(FirstSpecialId + HuginnSpecialTokens.All.ToList().IndexOf(token));
            w.WriteEndArray();
            w.WriteStartArray("tokens");
            w.WriteStringValue(token);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static byte[] TokenizerConfigJson()
    {
        return WriteJson(w =>
        {
            w.WriteStartObject("added_tokens_decoder");
            for (var i = 0; i < HuginnSpecialTokens.All.Count; i++)
            {
                w.WriteStartObject((FirstSpecialId + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("content", HuginnSpecialTokens.All[i]);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteString("bos_token", HuginnSpecialTokens.BeginText);
            w.WriteBoolean("clean_up_tokenization_spaces", true);
            w.WriteString("eos_token", HuginnSpecialTokens.EndText);
            w.WriteNumber("model_max_length", 4096);
            w.WriteString("pad_token", HuginnSpecialTokens.Pad);
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
        });
    }

    private static byte[] WriteJson(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        var options = new JsonWriterOptions { Indented = true, IndentSize = 2, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var writer = new Utf8JsonWriter(stream, options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }
}
