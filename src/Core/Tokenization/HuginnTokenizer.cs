using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace RecurrentDepth.Tokenization;

/// <summary>
/// The tokenizer of a Huginn checkpoint: byte-level BPE read from the folder's Hugging Face <c>tokenizer.json</c>
/// (encoded by Microsoft.ML.Tokenizers), its special tokens, and its <see cref="ChatTemplate"/>.
/// </summary>
/// <remarks>
/// Special-token ids are looked up by their text in the checkpoint's files, never assumed. Decoding does not apply
/// transformers' <c>clean_up_tokenization_spaces</c> (it is lossy), so <c>Decode(Encode(text)) == text</c> for any text.
/// Instances are immutable and safe to share between threads; a <see cref="StreamingDetokenizer"/> is not.
/// </remarks>
public sealed class HuginnTokenizer
{
    /// <summary>The tokenizer file of a checkpoint folder: <c>tokenizer.json</c>.</summary>
    public const string TokenizerFileName = "tokenizer.json";

    /// <summary>The optional tokenizer settings of a checkpoint folder: <c>tokenizer_config.json</c>.</summary>
    public const string ConfigFileName = "tokenizer_config.json";

    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly string?[] _idToToken;
    private readonly byte[][] _tokenBytes;
    private readonly HashSet<int> _specialIds;
    private readonly int[] _templatePrefix;
    private readonly int[] _templateSuffix;

    private HuginnTokenizer(TokenizerFileContents contents, string tokenizerPath, TokenizerConfig config, ChatTemplate template)
    {
        _tokenToId = new Dictionary<string, int>(contents.Vocabulary, StringComparer.Ordinal);
        foreach (var token in contents.AddedTokens)
        {
            _tokenToId[token.Content] = token.Id;
        }

        VocabSize = _tokenToId.Values.Max() + 1;
        _idToToken = new string?[VocabSize];
        _tokenBytes = new byte[VocabSize][];
        foreach (var (token, id) in contents.Vocabulary)
        {
            _idToToken[id] = token;
            _tokenBytes[id] = ByteLevelAlphabet.TryDecode(token)
                ?? throw TokenizerFileReader.Invalid(tokenizerPath, $"model.vocab[\"{token}\"]", "holds a character outside the byte-level alphabet");
        }

        // Added tokens are matched in the text before pre-tokenization (as in Hugging Face tokenizers) and decode to
        // their content. The pre-tokenizer tries them as a regex alternation in dictionary order, so the longest go
        // first: that gives Hugging Face's leftmost-longest match when one added token is a prefix of another.
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in contents.AddedTokens.OrderByDescending(t => t.Content.Length).ThenBy(t => t.Content, StringComparer.Ordinal))
        {
            _idToToken[token.Id] = token.Content;
            _tokenBytes[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            added[token.Content] = token.Id;
        }

        for (var id = 0; id < VocabSize; id++)
        {
            _tokenBytes[id] ??= [];
        }

        _specialIds = contents.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet();
        _templatePrefix = [.. contents.TemplatePrefix];
        _templateSuffix = [.. contents.TemplateSuffix];

        Regex splitter;
        try
        {
            splitter = new Regex(contents.SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw TokenizerFileReader.Invalid(tokenizerPath, "pre_tokenizer.pretokenizers[0].pattern.Regex", $"is not a regular expression .NET accepts: {e.Message}");
        }

        var addedIds = added.Values.ToHashSet();
        _bpe = BpeTokenizer.Create(new BpeOptions(contents.Vocabulary.Where(kv => !addedIds.Contains(kv.Value)))
        {
            Merges = contents.Merges.Select(m => $"{m.Left} {m.Right}"),
            SpecialTokens = added,
            ByteLevel = true,
            PreTokenizer = new AstralSafePreTokenizer(new RegexPreTokenizer(splitter, added)),
        });

        BosId = Require(config.BosToken, config.BosField, tokenizerPath);
        EosId = Require(config.EosToken, config.EosField, tokenizerPath);
        PadId = Require(config.PadToken, config.PadField, tokenizerPath);
        EndTurnId = Require(HuginnSpecialTokens.EndTurn, "the end-of-turn token", tokenizerPath);
        StopTokenIds = new HashSet<int> { EosId, EndTurnId, BosId };
        Template = template;
    }

    /// <summary>The Microsoft.ML.Tokenizers BPE that encodes; exposed to tests as an independent decoder.</summary>
    internal BpeTokenizer Inner => _bpe;

    /// <summary>Number of token ids: one more than the largest id in the vocabulary or the added tokens. huginn-0125: 65536.</summary>
    public int VocabSize { get; }

    /// <summary>Id of the beginning-of-text token (<c>bos_token</c>, default <c>&lt;|begin_text|&gt;</c>).</summary>
    public int BosId { get; }

    /// <summary>Id of the end-of-text token (<c>eos_token</c>, default <c>&lt;|end_text|&gt;</c>).</summary>
    public int EosId { get; }

    /// <summary>Id of <c>&lt;|end_turn|&gt;</c>, which ends a chat turn.</summary>
    public int EndTurnId { get; }

    /// <summary>Id of the padding token (<c>pad_token</c>, default <c>&lt;|pad|&gt;</c>).</summary>
    public int PadId { get; }

    /// <summary>
    /// The ids generation stops on: end of text, end of turn and begin of text (the reference stops on all three,
    /// since a new document can only mean the answer is over).
    /// </summary>
    public IReadOnlySet<int> StopTokenIds { get; }

    /// <summary>The chat template: the folder's <see cref="ChatTemplate.FileName"/> when present, else huginn-0125's.</summary>
    public ChatTemplate Template { get; }

    /// <summary>
    /// Loads the tokenizer of a Hugging Face checkpoint folder: <c>tokenizer.json</c> (required),
    /// <c>tokenizer_config.json</c> (optional: <c>bos_token</c>, <c>eos_token</c>, <c>pad_token</c>) and
    /// <see cref="ChatTemplate.FileName"/> (optional chat template override).
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <exception cref="FileNotFoundException"><c>tokenizer.json</c> does not exist; the exception carries its path.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or unsupported; the message names the file and the field.</exception>
    public static HuginnTokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var tokenizerPath = Path.Combine(folder, TokenizerFileName);
        var contents = TokenizerFileReader.Read(tokenizerPath);
        var config = TokenizerConfig.Read(Path.Combine(folder, ConfigFileName));
        return new HuginnTokenizer(contents, tokenizerPath, config, ChatTemplate.LoadFromFolder(folder));
    }

    /// <summary>Encodes text into token ids.</summary>
    /// <param name="text">The text. Special-token strings in it (such as <c>&lt;|end_turn|&gt;</c>) become their ids.</param>
    /// <param name="addSpecialTokens">
    /// Whether to apply the checkpoint's post-processor template: huginn-0125 wraps the ids as
    /// <c>&lt;|begin_text|&gt; … &lt;|end_text|&gt;</c>. Leave it <see langword="false"/> for text rendered by the
    /// <see cref="Template"/>, which already begins with <c>&lt;|begin_text|&gt;</c>.
    /// </param>
    /// <returns>The token ids.</returns>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _bpe.EncodeToIds(text);
        if (!addSpecialTokens || (_templatePrefix.Length == 0 && _templateSuffix.Length == 0))
        {
            return ids;
        }

        var wrapped = new List<int>(_templatePrefix.Length + ids.Count + _templateSuffix.Length);
        wrapped.AddRange(_templatePrefix);
        wrapped.AddRange(ids);
        wrapped.AddRange(_templateSuffix);
        return wrapped;
    }

    /// <summary>Decodes token ids into text.</summary>
    /// <param name="ids">The token ids.</param>
    /// <param name="skipSpecialTokens">Whether to leave out tokens flagged special (they appear as their text otherwise).</param>
    /// <returns>The text; bytes that do not form valid UTF-8 (a sequence cut inside a character) become U+FFFD.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in [0, <see cref="VocabSize"/>).</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            CheckId(id, nameof(ids));
            if (!(skipSpecialTokens && _specialIds.Contains(id)))
            {
                bytes.AddRange(_tokenBytes[id]);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>The id of a token given by its vocabulary spelling (byte-level, e.g. <c>Ġthe</c>) or its added-token text.</summary>
    /// <param name="token">The token's text.</param>
    /// <returns>The id, or <see langword="null"/> when the tokenizer has no such token.</returns>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _tokenToId.TryGetValue(token, out var id) ? id : null;
    }

    /// <summary>The vocabulary spelling of a token id (byte-level, e.g. <c>Ġthe</c>), or an added token's text.</summary>
    /// <param name="id">The token id.</param>
    /// <returns>The token, or <see langword="null"/> when no token has this id.</returns>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Whether <paramref name="id"/> is a token flagged special in the checkpoint (such as <c>&lt;|end_turn|&gt;</c>).</summary>
    /// <param name="id">The token id.</param>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <summary>Creates a decoder that turns ids into text one at a time, holding back incomplete UTF-8 characters.</summary>
    /// <param name="skipSpecialTokens">Whether the decoder leaves out tokens flagged special.</param>
    /// <returns>A new decoder, for one sequence.</returns>
    public StreamingDetokenizer CreateStreamingDecoder(bool skipSpecialTokens = false) =>
        new(_tokenBytes, skipSpecialTokens ? _specialIds : new HashSet<int>());

    private void CheckId(int id, string paramName)
    {
        if ((uint)id >= (uint)VocabSize)
        {
            throw new ArgumentOutOfRangeException(paramName, id, $"Token id {id} is not in [0, {VocabSize}).");
        }
    }

    private int Require(string token, string role, string tokenizerPath) =>
        _tokenToId.TryGetValue(token, out var id)
            ? id
            : throw new InvalidDataException($"{Path.GetFileName(tokenizerPath)} ({tokenizerPath}) has no token \"{token}\", which {role} names.");

    /// <summary>The special-token names of tokenizer_config.json, with huginn-0125's as defaults.</summary>
    private sealed record TokenizerConfig(string BosToken, string EosToken, string PadToken)
    {
        public string BosField { get; init; } = "the default bos_token";

        public string EosField { get; init; } = "the default eos_token";

        public string PadField { get; init; } = "the default pad_token";

        public static TokenizerConfig Read(string path)
        {
            var config = new TokenizerConfig(HuginnSpecialTokens.BeginText, HuginnSpecialTokens.EndText, HuginnSpecialTokens.Pad);
            if (!File.Exists(path))
            {
                return config;
            }

            using var document = TokenizerFileReader.Parse(path);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw TokenizerFileReader.Invalid(path, "(root)", $"must be a JSON object; found {root.ValueKind}");
            }

            var name = Path.GetFileName(path);
            if (TokenName(path, root, "bos_token") is { } bos)
            {
                config = config with { BosToken = bos, BosField = $"{name} bos_token" };
            }

            if (TokenName(path, root, "eos_token") is { } eos)
            {
                config = config with { EosToken = eos, EosField = $"{name} eos_token" };
            }

            if (TokenName(path, root, "pad_token") is { } pad)
            {
                config = config with { PadToken = pad, PadField = $"{name} pad_token" };
            }

            return config;
        }

        /// <summary>A token name given as a string or as an AddedToken object with <c>content</c>; null when absent.</summary>
        private static string? TokenName(string path, JsonElement root, string field)
        {
            if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }

            return value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                ? content.GetString()
                : throw TokenizerFileReader.Invalid(path, field, "must be a token string or an object with a string 'content'");
        }
    }
}
