using RecurrentDepth.Engine;

namespace RecurrentDepth.Orleans.Conversations;

/// <summary>A piece of a streamed turn: the engine's update and the silo that produced it.</summary>
/// <param name="Update">The engine's update (text, token, and on the last one the summary with <see cref="GenerationSummary.CachedInputTokens"/>).</param>
/// <param name="Silo">Address of the silo whose engine ran the turn.</param>
[GenerateSerializer, Immutable, Alias("RecurrentDepth.Orleans.ConversationUpdate")]
public sealed record ConversationUpdate([property: Id(0)] GenerationUpdate Update, [property: Id(1)] string Silo);
