using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Translation;

/// <summary>
/// Collects a response as its updates arrive: the text, any tool calls, and the last update (finish reason, usage,
/// latent-compute figures). Used by both answer shapes, so streamed and non-streamed answers report the same.
/// </summary>
internal sealed class ResponseAccumulator
{
    private readonly StringBuilder _text = new();
    private readonly List<WireToolCall> _toolCalls = [];

    public string Text => _text.ToString();

    public IReadOnlyList<WireToolCall>? ToolCalls => _toolCalls.Count == 0 ? null : _toolCalls;

    /// <summary>The update that carried the finish reason (and the usage); null until the response ended.</summary>
    public ChatResponseUpdate? Final { get; private set; }

    /// <summary>Adds <paramref name="update"/>; returns the text and the tool calls it added.</summary>
    public (string Text, List<WireToolCall> ToolCalls) Add(ChatResponseUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        var text = new StringBuilder();
        var calls = new List<WireToolCall>();
        foreach (var content in update.Contents)
        {
            switch (content)
            {
                case TextContent t when !string.IsNullOrEmpty(t.Text):
                    text.Append(t.Text);
                    break;
                case FunctionCallContent call:
                    var wire = new WireToolCall
                    {
                        Index = _toolCalls.Count,
                        Id = string.IsNullOrEmpty(call.CallId) ? $"call_{Guid.NewGuid():N}" : call.CallId,
                        Function = new WireFunctionCall { Name = call.Name, Arguments = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>()) },
                    };
                    _toolCalls.Add(wire);
                    calls.Add(wire);
                    break;
            }
        }

        _text.Append(text);
        if (update.FinishReason is not null || update.Contents.OfType<UsageContent>().Any())
        {
            Final = update;
        }

        return (text.ToString(), calls);
    }

    public string FinishReason => UsageReader.FinishReasonOf(Final?.FinishReason);

    public WireUsage? Usage => Final is null ? null : UsageReader.UsageOf(Final);
}
