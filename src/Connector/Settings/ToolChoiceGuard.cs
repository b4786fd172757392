using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// What a surface does with tools while tool calling is not available: a request that requires a tool call
/// (MEAI <see cref="ChatToolMode.RequireAny"/> or a specific required function, SK
/// <see cref="FunctionChoiceBehavior.Required"/>) fails with <see cref="NotSupportedException"/> naming the feature,
/// since an answer without the call would break the caller's contract; tools merely offered are ignored with one
/// warning per client. One instance per client or service. Tool calling replaces this class as a whole.
/// </summary>
internal sealed class ToolChoiceGuard(ILogger logger)
{
    private int _warned;

    /// <summary>Checks an MEAI request's tools.</summary>
    /// <exception cref="NotSupportedException">The request requires a tool call.</exception>
    public void Check(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools)
        {
            return;
        }

        if (options.ToolMode is RequiredChatToolMode required)
        {
            var what = required.RequiredFunctionName is { } name ? $"ChatToolMode.RequireSpecific(\"{name}\")" : "ChatToolMode.RequireAny";
            throw NotAvailable(what);
        }

        if (options.ToolMode is not NoneChatToolMode)
        {
            WarnOnce($"{tools.Count} tool(s) in ChatOptions.Tools");
        }
    }

    /// <summary>Checks an SK request's function choice behavior.</summary>
    /// <exception cref="NotSupportedException">The request requires a function call.</exception>
    public void Check(FunctionChoiceBehavior? behavior)
    {
        switch (behavior)
        {
            case RequiredFunctionChoiceBehavior:
                throw NotAvailable("FunctionChoiceBehavior.Required()");
            case AutoFunctionChoiceBehavior:
                WarnOnce("FunctionChoiceBehavior.Auto()");
                break;
        }
    }

    private static NotSupportedException NotAvailable(string what) => new(
        $"Tool calling is not available in the recurrent-depth connector, and this request requires a tool call ({what}). " +
        "Remove the requirement (tools offered with automatic choice are ignored) or use a chat service that supports tools.");

    private void WarnOnce(string what)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 0)
        {
            logger.LogWarning("Tools were offered ({What}) but tool calling is not available in the recurrent-depth connector; they are ignored and the model answers in text. This warning is logged once per client.", what);
        }
    }
}
