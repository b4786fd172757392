using System.Globalization;
using System.Text.Json.Nodes;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Training;

/// <summary>
/// Builds the tokenizer files of a fresh micro model: byte-level BPE with no merges (every byte is one token, id =
/// byte value, spelled with <see cref="ByteLevelAlphabet"/>) followed by huginn-0125's 32 special tokens at ids
/// 256..287, and huginn's chat template. This class only writes the files; the trainer and the evaluator encode,
/// decode and render prompts with Core's <see cref="HuginnTokenizer"/> and <see cref="ChatTemplate"/> loaded from
/// them (<see cref="CreateTokenizer"/>), as the inference engine does. The committed micro models ship exactly
/// these bytes (a test compares them).
/// </summary>
public static class MicroVocabulary
{
    /// <summary>Id of the first special token (<c>&lt;|begin_text|&gt;</c>); huginn-0125 puts them at 65504.</summary>
    public const int FirstSpecialId = 256;

    /// <summary>
    /// Writes (or overwrites) <c>tokenizer.json</c>, <c>tokenizer_config.json</c> (with the Jinja chat template) and
    /// <c>chat_template.json</c> (the same template in the pieces format of <see cref="ChatTemplate"/>) into <paramref name="folder"/>.
    /// </summary>
    public static void WriteTo(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, HuginnTokenizer.TokenizerFileName), TokenizerJson() + "\n");
        File.WriteAllText(Path.Combine(folder, HuginnTokenizer.ConfigFileName), TokenizerConfigJson() + "\n");
        File.WriteAllText(Path.Combine(folder, ChatTemplate.FileName), ChatTemplatePiecesJson() + "\n");
    }

    /// <summary>
    /// The tokenizer of a fresh micro model: the files of <see cref="WriteTo"/>, written to a scratch folder and
    /// loaded from there through <see cref="TaskTokenizer.Load"/> (which keeps their bytes for the checkpoints).
    /// </summary>
    public static TaskTokenizer CreateTokenizer()
    {
        var scratch = Directory.CreateTempSubdirectory("rd-micro-vocabulary-");
        try
        {
            WriteTo(scratch.FullName);
            return TaskTokenizer.Load(scratch.FullName);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>The Hugging Face <c>tokenizer.json</c> (without the final newline <see cref="WriteTo"/> adds).</summary>
    public static string TokenizerJson()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++)
        {
            vocab[ByteLevelAlphabet.ToChar((byte)b).ToString()] = b;
        }

        var added = new JsonArray();
        var specials = HuginnSpecialTokens.All;
        for (int i = 0; i < specials.Count; i++)
        {
            vocab[specials[i]] = FirstSpecialId + i;
            added.Add(new JsonObject
            {
                ["id"] = FirstSpecialId + i,
                ["content"] = specials[i],
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
                    ["<|begin_text|>"] = new JsonObject { ["id"] = "<|begin_text|>", ["ids"] = new JsonArray(FirstSpecialId), ["tokens"] = new JsonArray("<|begin_text|>") },
                    ["<|end_text|>"] = new JsonObject { ["id"] = "<|end_text|>", ["ids"] = new JsonArray(FirstSpecialId + 1), ["tokens"] = new JsonArray("<|end_text|>") },
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

    /// <summary>The <c>tokenizer_config.json</c>: special tokens, bos/eos/pad and the Jinja chat template (for transformers).</summary>
    public static string TokenizerConfigJson()
    {
        var decoder = new JsonObject();
        var specials = HuginnSpecialTokens.All;
        for (int i = 0; i < specials.Count; i++)
        {
            decoder[(FirstSpecialId + i).ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = specials[i],
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
    /// <c>chat_template.json</c> in the pieces format of <see cref="ChatTemplate"/>: huginn-0125's template
    /// (<see cref="ChatTemplate.Huginn"/>) written out explicitly, so the folder does not depend on the library's defaults.
    /// </summary>
    public static string ChatTemplatePiecesJson()
    {
        var t = ChatTemplate.Huginn;
        return new JsonObject
        {
            ["begin"] = t.Begin,
            ["header_start"] = t.HeaderStart,
            ["header_end"] = t.HeaderEnd,
            ["turn_end"] = t.TurnEnd,
            ["assistant_role"] = t.AssistantRole,
            ["generation_prompt"] = t.GenerationPrompt,
            ["end"] = t.End,
            ["trim_content"] = t.TrimContent,
        }.ToJsonString(JsonDefaults.Indented);
    }
}
