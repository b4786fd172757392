using System.Text;
using Spectre.Console;

namespace RecurrentDepth.AgentSamples;

/// <summary>Text from users and models made safe for Spectre markup and tables.</summary>
internal static class ConsoleText
{
    /// <summary>
    /// Model output as one table cell: control characters (newlines, escapes, NULs a random model emits) shown as
    /// visible escapes so they cannot break the layout, then markup brackets escaped.
    /// </summary>
    public static string Cell(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var visible = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            visible.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return Markup.Escape(visible.ToString());
    }

    /// <summary>An argument error as a user reads it: without .NET's " (Parameter 'x')" suffix.</summary>
    public static string Error(ArgumentException error)
    {
        var message = error.Message;
        int cut = error.ParamName is null ? -1 : message.LastIndexOf($" (Parameter '{error.ParamName}')", StringComparison.Ordinal);
        return cut >= 0 ? message[..cut] : message;
    }
}
