using RecurrentDepth.Engine;

namespace RecurrentDepth.Orleans.Conversations;

/// <summary>
/// One turn sent to a conversation grain: the messages the caller adds and the generation settings. The grain puts the
/// stored history in front of <see cref="NewMessages"/> (see <see cref="ConversationHistory.Merge"/>), so the request's
/// own <see cref="GenerationRequest.Messages"/>, <see cref="GenerationRequest.Prompt"/> and
/// <see cref="GenerationRequest.PromptTokens"/> are ignored.
/// </summary>
/// <param name="NewMessages">Messages added by this turn (usually one user message); a caller that resends the whole history is understood too.</param>
/// <param name="Settings">Depth, sampling, limits and stop sequences of the turn.</param>
[GenerateSerializer, Immutable, Alias("RecurrentDepth.Orleans.ConversationTurn")]
public sealed record ConversationTurn([property: Id(0)] IReadOnlyList<ConversationMessage> NewMessages, [property: Id(1)] GenerationRequest Settings);
