using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Training;

/// <summary>A problem's chat prompt as token ids, and where the problem's own characters sit in it.</summary>
/// <param name="Ids">The rendered chat prompt, generation prompt included, as token ids.</param>
/// <param name="ChainStart">Position of the problem text's first token; each of its characters is one token from here.</param>
public sealed record EncodedPrompt(IReadOnlyList<int> Ids, int ChainStart);

/// <summary>
/// A checkpoint's tokenizer as the arithmetic task uses it: Core's <see cref="HuginnTokenizer"/> (Microsoft.ML.Tokenizers
/// over the folder's <c>tokenizer.json</c>) and its <see cref="ChatTemplate"/>, so the trainer and the evaluator
/// render and encode prompts exactly as the inference engine does. It also keeps the bytes of the tokenizer files it
/// was loaded from, which every checkpoint written with it ships unchanged.
/// </summary>
/// <remarks>Immutable and safe to share between threads.</remarks>
public sealed class TaskTokenizer
{
    private static readonly string[] FileNames = [HuginnTokenizer.TokenizerFileName, HuginnTokenizer.ConfigFileName, ChatTemplate.FileName];

    private readonly IReadOnlyDictionary<string, byte[]> files;
    private readonly int[] digitIds;

    private TaskTokenizer(HuginnTokenizer tokenizer, IReadOnlyDictionary<string, byte[]> files, string folder)
    {
        Tokenizer = tokenizer;
        this.files = files;
        digitIds = Enumerable.Range(0, 10).Select(d => SingleToken((char)('0' + d), folder)).ToArray();
    }

    /// <summary>The checkpoint's tokenizer.</summary>
    public HuginnTokenizer Tokenizer { get; }

    /// <summary>The checkpoint's chat template.</summary>
    public ChatTemplate Template => Tokenizer.Template;

    /// <summary>Number of token ids (the model's vocabulary size); 288 for the micro models.</summary>
    public int VocabSize => Tokenizer.VocabSize;

    /// <summary>Id of <c>&lt;|end_turn|&gt;</c>, the target after the model's last answer token.</summary>
    public int EndTurnId => Tokenizer.EndTurnId;

    /// <summary>Id of the padding token that fills right-padded batches.</summary>
    public int PadId => Tokenizer.PadId;

    /// <summary>Loads the tokenizer of a checkpoint folder (see <see cref="HuginnTokenizer.Load"/>) and keeps its tokenizer files' bytes.</summary>
    /// <exception cref="FileNotFoundException">The folder has no <c>tokenizer.json</c>.</exception>
    /// <exception cref="InvalidDataException">A tokenizer file is malformed, or a digit is not a single token (the task's labels need one).</exception>
    public static TaskTokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var tokenizer = HuginnTokenizer.Load(folder);
        var files = FileNames.Where(name => File.Exists(Path.Combine(folder, name)))
            .ToDictionary(name => name, name => File.ReadAllBytes(Path.Combine(folder, name)), StringComparer.Ordinal);
        return new TaskTokenizer(tokenizer, files, folder);
    }

    /// <summary>The problem as one user message rendered with the chat template, generation prompt included.</summary>
    public string RenderPrompt(ArithmeticProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return Template.Render([new ChatTurn("user", problem.Text)]);
    }

    /// <summary>Renders and encodes the problem's prompt, and finds where its characters are.</summary>
    /// <exception cref="InvalidOperationException">The tokenizer does not give the problem one token per character (dense labels need that).</exception>
    public EncodedPrompt EncodePrompt(ArithmeticProblem problem)
    {
        var rendered = RenderPrompt(problem);
        var ids = Tokenizer.Encode(rendered);
        int at = rendered.IndexOf(problem.Text, StringComparison.Ordinal);
        int start = at < 0 ? -1 : Tokenizer.Encode(rendered[..at]).Count;
        var chain = Tokenizer.Encode(problem.Text);
        // Dense labels give each character of the chain its own target, so each must be a token of its own.
        if (start < 0 || chain.Count != problem.Text.Length || !ids.Skip(start).Take(chain.Count).SequenceEqual(chain))
        {
            throw new InvalidOperationException(
                $"The tokenizer encodes the problem '{problem.Text}' as {chain.Count} tokens inside the prompt's {ids.Count}; the arithmetic task needs one token per character.");
        }

        return new EncodedPrompt(ids, start);
    }

    /// <summary>Id of the digit <paramref name="digit"/> (0..9): the answer token, and each running value's label.</summary>
    public int DigitId(int digit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digit, 9);
        return digitIds[digit];
    }

    /// <summary>Writes the tokenizer files this tokenizer was loaded from, byte for byte, into <paramref name="folder"/>.</summary>
    public void WriteFiles(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
        }
    }

    private int SingleToken(char c, string folder)
    {
        var ids = Tokenizer.Encode(c.ToString());
        return ids.Count == 1
            ? ids[0]
            : throw new InvalidDataException($"The tokenizer in '{folder}' encodes '{c}' as {ids.Count} tokens; the arithmetic task needs every digit to be one token.");
    }
}
