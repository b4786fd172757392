using RecurrentDepth.Engine;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// The engine ends the generations it still has with finish reason cancelled when its host stops. A stream shows
/// that finish to its reader; a non-streaming caller would get the truncated text as if it were the answer, so it
/// gets this error instead.
/// </summary>
internal static class ModelStoppedError
{
    /// <summary>The finish reason text of a generation the engine ended without being asked to.</summary>
    public const string CancelledFinishReason = "cancelled";

    /// <summary>The error for a non-streaming response the engine cut off after <paramref name="tokens"/> tokens.</summary>
    public static ModelNotReadyException Create(string modelId, long tokens) => new(
        $"Model '{modelId}' stopped (its host shut down) while generating this response, after {tokens} token(s); " +
        "the partial answer was discarded. Send the request again once the model is running.");
}
