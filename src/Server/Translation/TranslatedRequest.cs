using Microsoft.Extensions.AI;

namespace RecurrentDepth.Server.Translation;

/// <summary>A chat-completions request in MEAI terms, ready for the <see cref="IChatClient"/>.</summary>
/// <param name="Messages">The conversation.</param>
/// <param name="Options">Sampling, limits, effort (typed properties and the connector's snake_case keys), format and tools.</param>
/// <param name="Stream">Answer as Server-Sent Events.</param>
/// <param name="IncludeUsage">Streaming: send one final chunk with the usage (<c>stream_options.include_usage</c>).</param>
/// <param name="RequestedEffort">The effort or step count the caller asked for, for request logs ("default" when none).</param>
internal sealed record TranslatedRequest(
    IReadOnlyList<ChatMessage> Messages,
    ChatOptions Options,
    bool Stream,
    bool IncludeUsage,
    string RequestedEffort);
