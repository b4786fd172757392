namespace RecurrentDepth.Tokenization;

/// <summary>
/// The special tokens of the huginn-0125 tokenizer, by their text. Ids are never fixed here: a tokenizer looks them up
/// in its own <c>tokenizer.json</c> (huginn-0125 puts them at 65504–65535; the test fixture at 480–511).
/// </summary>
public static class HuginnSpecialTokens
{
    /// <summary>Beginning of a document; the tokenizer's BOS and the first piece of a rendered chat.</summary>
    public const string BeginText = "<|begin_text|>";

    /// <summary>End of a document; the tokenizer's EOS and a stop token.</summary>
    public const string EndText = "<|end_text|>";

    /// <summary>Opens the role header of a chat turn.</summary>
    public const string BeginHeader = "<|begin_header|>";

    /// <summary>Closes the role header of a chat turn.</summary>
    public const string EndHeader = "<|end_header|>";

    /// <summary>Ends a chat turn; a stop token.</summary>
    public const string EndTurn = "<|end_turn|>";

    /// <summary>Padding.</summary>
    public const string Pad = "<|pad|>";

    /// <summary>All 32 special tokens in id order, as huginn-0125's tokenizer lists them.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        BeginText, EndText, BeginHeader, EndHeader, EndTurn, Pad,
        "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|...|>", "<|del|>",
        "<|c_0|>", "<|c_1|>", "<|c_2|>", "<|c_3|>", "<|c_4|>", "<|c_5|>", "<|c_6|>", "<|c_7|>", "<|c_8|>", "<|c_9|>",
        "<|?|>", "<|&|>", "<|!|>", "<|-|>", "<|+|>", "<|interrupt|>", "<|>>-|>", "<|-<<|>", "<|->>|>", "<|<<-|>",
    ];
}
