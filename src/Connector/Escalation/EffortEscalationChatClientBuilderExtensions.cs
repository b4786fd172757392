using RecurrentDepth.SemanticKernel;

namespace Microsoft.Extensions.AI;

/// <summary>Adds <see cref="EffortEscalatingChatClient"/> to a <see cref="ChatClientBuilder"/> pipeline.</summary>
public static class EffortEscalationChatClientBuilderExtensions
{
    /// <summary>
    /// Answers at a starting thinking effort and retries at the next effort when the response is unconverged or the
    /// validator rejects it, up to a ceiling (see <see cref="EffortEscalatingChatClient"/>).
    /// </summary>
    /// <param name="builder">The pipeline.</param>
    /// <param name="configure">Sets the ladder, start, ceiling, threshold and validator; null keeps the defaults (none up to high, share &gt; 0.1).</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static ChatClientBuilder UseEffortEscalation(this ChatClientBuilder builder, Action<EffortEscalationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use(inner =>
        {
            var options = new EffortEscalationOptions();
            configure?.Invoke(options);
            return new EffortEscalatingChatClient(inner, options);
        });
    }
}
