using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RecurrentDepth.Training;

/// <summary>
/// The micro model's tokenizer: byte-level BPE with no merges (every byte is one token, id = byte value, written
/// as GPT-2's byte-to-unicode symbol) followed by huginn-0125's 32 special tokens at ids 256..287. This class is
/// the trainer's tokenizer and also writes the equivalent Hugging Face <c>tokenizer.json</c>, so the trainer and the
/// library's tokenizer loader agree by construction (a test parses the written file to check it).
/// </summary>
public static class MicroTokenizer
{
    /// <summary>huginn-0125's special tokens in id order (ids 65504.. in the original, 256.. here).</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } =
    [
        "<|begin_text|>", "<|end_text|>", "<|begin_header|>", "<|end_header|>", "<|end_turn|>", "<|pad|>",
        "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|...|>", "<|del|>",
        "<|c_0|>", "<|c_1|>", "<|c_2|>", "<|c_3|>", "<|c_4|>", "<|c_5|>", "<|c_6|>", "<|c_7|>", "<|c_8|>", "<|c_9|>",
        "<|?|>", "<|&|>", "<|!|>", "<|-|>", "<|+|>", "<|interrupt|>", "<|>>-|>", "<|-<<|>", "<|->>|>", "<|<<-|>",
    ];

    /// <summary>Id of the first special token.</summary>
    public const int FirstSpecialId = 256;

    /// <summary>Vocabulary size: 256 bytes + 32 special tokens (a multiple of 32, so no padding rows).</summary>
    public const int VocabSize = 288;

    /// <summary><c>&lt;|begin_text|&gt;</c> (bos).</summary>
    public const int BeginText = 256;

    /// <summary><c>&lt;|end_text|&gt;</c> (eos).</summary>
    public const int EndText = 257;

    /// <summary><c>&lt;|begin_header|&gt;</c>.</summary>
    public const int BeginHeader = 258;

    /// <summary><c>&lt;|end_header|&gt;</c>.</summary>
    public const int EndHeader = 259;

    /// <summary><c>&lt;|end_turn|&gt;</c>: ends every turn, including the model's answer.</summary>
    public const int EndTurn = 260;

    /// <summary><c>&lt;|pad|&gt;</c>.</summary>
    public const int Pad = 261;

    /// <summary>Id of a character: its byte value (the task alphabet is ASCII).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The character is not ASCII.</exception>
    public static int CharId(char c) => c < 128 ? c : throw new ArgumentOutOfRangeException(nameof(c), c, "The micro tokenizer maps ASCII characters only.");

    /// <summary>Id of a special token such as <c>&lt;|end_turn|&gt;</c>.</summary>
    /// <exception cref="ArgumentException">Not one of the 32 special tokens.</exception>
    public static int SpecialId(string token)
    {
        for (int i = 0; i < SpecialTokens.Count; i++)
        {
            if (SpecialTokens[i] == token)
            {
                return FirstSpecialId + i;
            }
        }

        throw new ArgumentException($"'{token}' is not a huginn special token.", nameof(token));
    }

    /// <summary>
    /// Encodes text that may contain special tokens written out (as a rendered chat template does), without adding
    /// BOS/EOS: special tokens become their ids, every other character its byte id.
    /// </summary>
    public static List<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            int special = text[i] == '<' ? MatchSpecial(text, i) : -1;
            if (special >= 0)
            {
                ids.Add(FirstSpecialId + special);
                i += SpecialTokens[special].Length;
            }
            else
            {
                ids.Add(CharId(text[i]));
                i++;
            }
        }

        return ids;
    }

    /// <summary>Decodes ids back to text (special tokens written out).</summary>
    public static string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new StringBuilder();
        foreach (var id in ids)
        {
            text.Append(id >= FirstSpecialId ? SpecialTokens[id - FirstSpecialId] : ((char)id).ToString());
        }

        return text.ToString();
    }

    private static int MatchSpecial(string text, int start)
    {
        for (int s = 0; s < SpecialTokens.Count; s++)
        {
            if (string.CompareOrdinal(text, start, SpecialTokens[s], 0, SpecialTokens[s].Length) == 0)
            {
                return s;
            }
        }

        return -1;
    }

    /// <summary>GPT-2's reversible byte → printable unicode symbol map (the byte-level BPE alphabet).</summary>
    public static string ByteSymbol(int b)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(b);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(b, 255);
        if (b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF)
        {
            return ((char)b).ToString();
        }

        // The remaining 68 bytes map, in byte order, to U+0100, U+0101, ...
        int n = 0;
        for (int x = 0; x < b; x++)
        {
            if (!(x is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF))
            {
                n++;
            }
        }

        return ((char)(256 + n)).ToString();
    }

    /// <summary>The Hugging Face <c>tokenizer.json</c> equivalent to this class.</summary>
    public static string TokenizerJson()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++)
        {
            vocab[ByteSymbol(b)] = b;
        }

        var added = new JsonArray();
        for (int i = 0; i < SpecialTokens.Count; i++)
        {
            vocab[SpecialTokens[i]] = FirstSpecialId + i;
            added.Add(new JsonObject
            {
                ["id"] = FirstSpecialId + i,
                ["content"] = SpecialTokens[i],
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            });
        }

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        // GPT-2's pre-tokenization regex; with no merges it cannot change the result (one token per byte).
                        ["pattern"] = new JsonObject { ["Regex"] = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+" },
                        ["behavior"] = "Removed",
                        ["invert"] = true,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special("<|begin_text|>"), Sequence("A"), Special("<|end_text|>")),
                ["pair"] = new JsonArray(Special("<|begin_text|>"), Sequence("A"), Sequence("B"), Special("<|end_text|>")),
                ["special_tokens"] = new JsonObject
                {
                    ["<|begin_text|>"] = new JsonObject { ["id"] = "<|begin_text|>", ["ids"] = new JsonArray(BeginText), ["tokens"] = new JsonArray("<|begin_text|>") },
                    ["<|end_text|>"] = new JsonObject { ["id"] = "<|end_text|>", ["ids"] = new JsonArray(EndText), ["tokens"] = new JsonArray("<|end_text|>") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(),
            },
        };
        return root.ToJsonString(JsonDefaults.Indented);

        static JsonObject Special(string id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
        static JsonObject Sequence(string id) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
    }

    /// <summary>The Jinja chat template of huginn-0125 (spec §5), as transformers reads it from tokenizer_config.json.</summary>
    public const string JinjaChatTemplate =
        "{% for message in messages %}{% if loop.first %}{{ '<|begin_text|>' }}{% endif %}" +
        "{{ '<|begin_header|>' + ('Huginn' if message['role'] in ['assistant', 'Huginn'] else message['role']) + '<|end_header|>\n\n' + message['content'] | trim + '<|end_turn|>' }}" +
        "{% endfor %}{% if add_generation_prompt %}{{ '<|begin_header|>Huginn<|end_header|>\n\n' }}{% else %}{{ '<|end_text|>' }}{% endif %}";

    /// <summary>The <c>tokenizer_config.json</c>: special tokens, bos/eos/pad and the chat template.</summary>
    public static string TokenizerConfigJson()
    {
        var decoder = new JsonObject();
        for (int i = 0; i < SpecialTokens.Count; i++)
        {
            decoder[(FirstSpecialId + i).ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = SpecialTokens[i],
                ["lstrip"] = false,
                ["normalized"] = false,
                ["rstrip"] = false,
                ["single_word"] = false,
                ["special"] = true,
            };
        }

        var root = new JsonObject
        {
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = "<|begin_text|>",
            ["eos_token"] = "<|end_text|>",
            ["pad_token"] = "<|pad|>",
            ["chat_template"] = JinjaChatTemplate,
            ["clean_up_tokenization_spaces"] = true,
            ["model_max_length"] = 1024,
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
        };
        return root.ToJsonString(JsonDefaults.Indented);
    }

    /// <summary>
    /// <c>chat_template.json</c> in the pieces format of the library's <c>ChatTemplate</c> loader: the huginn-0125
    /// template written out explicitly.
    /// </summary>
    public static string ChatTemplatePiecesJson() => new JsonObject
    {
        ["begin"] = "<|begin_text|>",
        ["header_start"] = "<|begin_header|>",
        ["header_end"] = "<|end_header|>\n\n",
        ["turn_end"] = "<|end_turn|>",
        ["assistant_role"] = "Huginn",
        ["generation_prompt"] = "<|begin_header|>Huginn<|end_header|>\n\n",
        ["end"] = "<|end_text|>",
        ["trim_content"] = true,
    }.ToJsonString(JsonDefaults.Indented);
}
