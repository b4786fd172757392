using System.ComponentModel;
using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Kernel functions that let an orchestrating model delegate a hard step to the latent reasoner at a chosen effort.
/// The answer comes back with a note of the compute it took (mean and max recurrence steps per token, the share of
/// tokens that hit the cap): a high cap-hit share says "this was hard", and the caller may retry at a higher effort.
/// </summary>
/// <example>
/// <code>
/// kernel.Plugins.AddFromObject(new LatentReasoningPlugin(chatClient), "latent");
/// </code>
/// </example>
public sealed class LatentReasoningPlugin
{
    private readonly IChatClient _chatClient;

    /// <summary>Creates the plugin over a recurrent-depth chat client (or a pipeline ending in one).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="chatClient"/> is null.</exception>
    public LatentReasoningPlugin(IChatClient chatClient)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        _chatClient = chatClient;
    }

    /// <summary>Answers <paramref name="question"/> with latent reasoning at <paramref name="effort"/>.</summary>
    /// <param name="question">A self-contained question or sub-problem.</param>
    /// <param name="effort">none, low, medium, high (default), xhigh or adaptive.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The answer, a blank line, and a bracketed note of the compute used.</returns>
    /// <exception cref="ArgumentException"><paramref name="question"/> is empty, or <paramref name="effort"/> is not an accepted spelling.</exception>
    [KernelFunction("think")]
    [Description("Delegates a hard reasoning step (math, logic, code) to a model that thinks in latent space: more effort means more internal computation per token, not a longer answer. Returns the answer and a note of the compute used; if most tokens hit the cap, retrying at a higher effort may help.")]
    public async Task<string> ThinkAsync(
        [Description("The question or sub-problem, self-contained.")] string question,
        [Description("Thinking effort: none, low, medium, high, xhigh or adaptive. Use high or xhigh for multi-step math and code.")] string effort = "high",
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(question);
        var level = ThinkingEffortNames.Parse(effort, nameof(effort));
        var options = new ChatOptions
        {
            AdditionalProperties = new AdditionalPropertiesDictionary { ["thinking_effort"] = ThinkingEffortNames.ToSettingValue(level) },
        };
        var response = await _chatClient.GetResponseAsync([new ChatMessage(ChatRole.User, question)], options, cancellationToken).ConfigureAwait(false);
        return $"{response.Text}\n\n{Note(response.AdditionalProperties)}";
    }

    private static string Note(AdditionalPropertiesDictionary? figures)
    {
        if (figures is null)
        {
            return "[latent reasoning: no compute figures reported]";
        }

        double Number(string key) => figures.TryGetValue(key, out var v) && v is not null ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : double.NaN;
        var effort = figures.TryGetValue(RecurrenceMetadataKeys.ThinkingEffort, out var e) && e is not null ? $"effort {e}, " : "";
        var fallback = Number(RecurrenceMetadataKeys.FallbackLevels) is > 0 and var levels
            ? $", fell back {levels} level(s) ({figures.GetValueOrDefault(RecurrenceMetadataKeys.FallbackReason)})"
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"[latent reasoning: {effort}mean {Number(RecurrenceMetadataKeys.MeanSteps):0.#} steps/token, max {Number(RecurrenceMetadataKeys.MaxSteps)} of cap {Number(RecurrenceMetadataKeys.AppliedMaxSteps)}, {Number(RecurrenceMetadataKeys.CapHitShare) * 100:0}% of tokens hit the cap{fallback}]");
    }
}
