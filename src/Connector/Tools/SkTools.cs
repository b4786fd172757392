using System.Text;
using System.Text.Json;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.SemanticKernel;

/// <summary>Semantic Kernel's side of tool calling: kernel functions as tools, calls and results in the history.</summary>
internal static class SkTools
{
    /// <summary>Model requests one auto-invoking chat call may make (each may call one function).</summary>
    public const int MaxAutoInvocations = 8;

    /// <summary>Separator of plugin and function in a tool name, as SK's OpenAI connector writes it.</summary>
    private const string Separator = "-";

    public static ToolSet? From(FunctionChoiceBehaviorConfiguration? configuration, Kernel? kernel)
    {
        if (configuration is not { Functions: { Count: > 0 } functions } || configuration.Choice == FunctionChoice.None)
        {
            return null;
        }

        // A KernelFunction is an MEAI AIFunction: its JsonSchema is the parameter schema MEAI would send.
        var tools = functions.Select(f => new ToolDefinition(FullName(f.Name, f.PluginName), f.Description, f.JsonSchema)).ToList();
        return new ToolSet(tools, configuration.Choice == FunctionChoice.Required ? ToolChoice.Required : ToolChoice.Auto);
    }

    public static Microsoft.SemanticKernel.FunctionCallContent Call(string name, Dictionary<string, object?> arguments)
    {
        int at = name.IndexOf(Separator, StringComparison.Ordinal);
        var (plugin, function) = at < 0 ? (null, name) : (name[..at], name[(at + Separator.Length)..]);
        return new Microsoft.SemanticKernel.FunctionCallContent(function, plugin, $"call_{Guid.NewGuid():N}", new KernelArguments(arguments));
    }

    private static string FullName(string function, string? plugin) => string.IsNullOrEmpty(plugin) ? function : plugin + Separator + function;

    /// <summary>The history as template turns; calls are written as the model writes them, results as <c>tool</c> turns.</summary>
    public static List<ChatTurn> ToTurns(ChatHistory chatHistory)
    {
        var turns = new List<ChatTurn>();
        foreach (var message in chatHistory)
        {
            var text = new StringBuilder();
            bool results = false;
            foreach (var item in message.Items)
            {
                switch (item)
                {
                    case TextContent t:
                        text.Append(t.Text);
                        break;
                    case Microsoft.SemanticKernel.FunctionCallContent call:
                        text.Append(ToolSet.RenderCall(FullName(call.FunctionName, call.PluginName),
                            call.Arguments?.ToDictionary(a => a.Key, a => a.Value)));
                        break;
                    case Microsoft.SemanticKernel.FunctionResultContent result:
                        results = true;
                        turns.Add(new ChatTurn("tool", ToolSet.RenderResult(
                            result.FunctionName is null ? null : FullName(result.FunctionName, result.PluginName),
                            result.Result is FunctionResult f ? f.GetValue<object>() : result.Result)));
                        break;
                }
            }

            if (text.Length > 0 || !results)
            {
                turns.Add(new ChatTurn(message.Role.Label, text.ToString()));
            }
        }

        return turns;
    }
}
