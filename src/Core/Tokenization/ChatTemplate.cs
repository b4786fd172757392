using System.Text;
using System.Text.Json;

namespace RecurrentDepth.Tokenization;

/// <summary>
/// Renders a conversation into the prompt text a Huginn model was trained on. The template is data: its pieces
/// default to huginn-0125's template, a checkpoint folder can override them with a <see cref="FileName"/> file, and
/// code can change them with a <c>with</c> expression (<c>ChatTemplate.Huginn with { AssistantRole = "Muninn" }</c>).
/// </summary>
/// <remarks>
/// <para>
/// For message <c>k</c> the template emits <c>(k == 0 ? Begin : "") + HeaderStart + role + HeaderEnd +
/// content.Trim() + TurnEnd</c>, where role is <see cref="AssistantRole"/> for the roles <c>assistant</c> and
/// <see cref="AssistantRole"/> itself, and the message's own role otherwise. After the last message it emits
/// <see cref="GenerationPrompt"/> when a reply is wanted, else <see cref="End"/>. Nothing separates the turns.
/// huginn-0125 renders <c>[system: "You are a helpful assistant.", user: "Hi"]</c> as
/// <c>&lt;|begin_text|&gt;&lt;|begin_header|&gt;system&lt;|end_header|&gt;\n\nYou are a helpful assistant.&lt;|end_turn|&gt;&lt;|begin_header|&gt;user&lt;|end_header|&gt;\n\nHi&lt;|end_turn|&gt;&lt;|begin_header|&gt;Huginn&lt;|end_header|&gt;\n\n</c>.
/// </para>
/// <para>
/// The override file is a JSON object whose optional string properties replace the corresponding pieces:
/// <c>begin</c>, <c>header_start</c>, <c>header_end</c>, <c>turn_end</c>, <c>assistant_role</c>,
/// <c>generation_prompt</c> and <c>end</c>; and the optional boolean <c>trim_content</c>. Any other property is an
/// error, except that a file holding a <c>chat_template</c> property (the Jinja form transformers writes under the
/// same name) is not this format and is ignored. Jinja templates are not interpreted.
/// </para>
/// </remarks>
public sealed record ChatTemplate
{
    /// <summary>The name of the override file in a checkpoint folder: <c>chat_template.json</c>.</summary>
    public const string FileName = "chat_template.json";

    /// <summary>The role name a Hugging Face conversation gives the model's own turns.</summary>
    public const string AssistantRoleName = "assistant";

    /// <summary>huginn-0125's chat template.</summary>
    public static ChatTemplate Huginn { get; } = new();

    /// <summary>Emitted once, before the first message. Default <c>&lt;|begin_text|&gt;</c>.</summary>
    public string Begin { get; init => field = NotNull(value); } = HuginnSpecialTokens.BeginText;

    /// <summary>Emitted before each message's role. Default <c>&lt;|begin_header|&gt;</c>.</summary>
    public string HeaderStart { get; init => field = NotNull(value); } = HuginnSpecialTokens.BeginHeader;

    /// <summary>Emitted between a role and its content. Default <c>&lt;|end_header|&gt;</c> followed by two newlines.</summary>
    public string HeaderEnd { get; init => field = NotNull(value); } = HuginnSpecialTokens.EndHeader + "\n\n";

    /// <summary>Emitted after each message's content. Default <c>&lt;|end_turn|&gt;</c>.</summary>
    public string TurnEnd { get; init => field = NotNull(value); } = HuginnSpecialTokens.EndTurn;

    /// <summary>The name the model's own turns are rendered with; <c>assistant</c> is rendered as this. Default <c>Huginn</c>.</summary>
    public string AssistantRole { get; init => field = NotNull(value); } = "Huginn";

    /// <summary>Emitted after the last message when a reply is wanted. Default: the header of a <c>Huginn</c> turn.</summary>
    public string GenerationPrompt { get; init => field = NotNull(value); } =
        HuginnSpecialTokens.BeginHeader + "Huginn" + HuginnSpecialTokens.EndHeader + "\n\n";

    /// <summary>Emitted after the last message when no reply is wanted. Default <c>&lt;|end_text|&gt;</c>.</summary>
    public string End { get; init => field = NotNull(value); } = HuginnSpecialTokens.EndText;

    /// <summary>Whether leading and trailing white space is trimmed from each message's content. Default <see langword="true"/>.</summary>
    public bool TrimContent { get; init; } = true;

    /// <summary>Renders <paramref name="messages"/> as prompt text.</summary>
    /// <param name="messages">The conversation, oldest message first; may be empty.</param>
    /// <param name="addGenerationPrompt">Whether to end with the header of a reply turn (<see langword="true"/>, for generation) or with <see cref="End"/>.</param>
    /// <returns>The prompt text, special tokens included as text; encode it without adding special tokens.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> or one of its elements is <see langword="null"/>.</exception>
    public string Render(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new StringBuilder();
        for (var k = 0; k < messages.Count; k++)
        {
            var message = messages[k] ?? throw new ArgumentNullException(nameof(messages), $"Message {k} is null.");
            if (k == 0)
            {
                text.Append(Begin);
            }

            var role = message.Role is AssistantRoleName || message.Role == AssistantRole ? AssistantRole : message.Role;
            text.Append(HeaderStart).Append(role).Append(HeaderEnd)
                .Append(TrimContent ? message.Content.Trim() : message.Content)
                .Append(TurnEnd);
        }

        text.Append(addGenerationPrompt ? GenerationPrompt : End);
        return text.ToString();
    }

    /// <summary>
    /// Reads the template of a checkpoint folder: huginn-0125's template with the pieces that the folder's
    /// <see cref="FileName"/> sets, or <see cref="Huginn"/> when there is no such file (or it holds a Jinja template).
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <exception cref="InvalidDataException">The file is not a JSON object of the documented pieces.</exception>
    public static ChatTemplate LoadFromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var path = Path.Combine(folder, FileName);
        return File.Exists(path) ? Load(path) : Huginn;
    }

    /// <summary>Reads a template override file in the format described on <see cref="ChatTemplate"/>.</summary>
    /// <param name="path">The JSON file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a JSON object of the documented pieces.</exception>
    public static ChatTemplate Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Chat template file '{path}' does not exist.", path);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path} must hold a JSON object of template pieces; found {root.ValueKind}.");
            }

            if (root.TryGetProperty("chat_template", out _))
            {
                // transformers' chat_template.json: a Jinja template, which this library does not interpret.
                return Huginn;
            }

            var template = Huginn;
            foreach (var property in root.EnumerateObject())
            {
                template = property.Name switch
                {
                    "begin" => template with { Begin = String(path, property) },
                    "header_start" => template with { HeaderStart = String(path, property) },
                    "header_end" => template with { HeaderEnd = String(path, property) },
                    "turn_end" => template with { TurnEnd = String(path, property) },
                    "assistant_role" => template with { AssistantRole = String(path, property) },
                    "generation_prompt" => template with { GenerationPrompt = String(path, property) },
                    "end" => template with { End = String(path, property) },
                    "trim_content" => template with { TrimContent = Boolean(path, property) },
                    _ => throw new InvalidDataException(
                        $"{path}: unknown field '{property.Name}'; expected begin, header_start, header_end, turn_end, assistant_role, generation_prompt, end or trim_content."),
                };
            }

            return template;
        }
    }

    private static string String(string path, JsonProperty property) =>
        property.Value.ValueKind == JsonValueKind.String
            ? property.Value.GetString()!
            : throw new InvalidDataException($"{path}: field '{property.Name}' must be a string; found {property.Value.ValueKind}.");

    private static bool Boolean(string path, JsonProperty property) =>
        property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? property.Value.GetBoolean()
            : throw new InvalidDataException($"{path}: field '{property.Name}' must be true or false; found {property.Value.ValueKind}.");

    private static string NotNull(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value;
    }
}
