namespace RecurrentDepth.Tokenization;

/// <summary>One message of a conversation, as the chat template renders it.</summary>
/// <param name="Role">"system", "user", "assistant" (rendered as the model's own name) or another role name.</param>
/// <param name="Content">The message text.</param>
public sealed record ChatTurn(string Role, string Content);
