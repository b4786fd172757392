using Microsoft.Extensions.DependencyInjection;
using RecurrentDepth.SemanticKernel;

namespace Microsoft.SemanticKernel;

/// <summary>Adds recurrent-depth chat services to a kernel builder.</summary>
/// <remarks>
/// The model itself is registered with <c>builder.Services.AddRecurrentDepthModel(...)</c>; it loads when a host
/// starts its hosted services (a bare <c>Kernel.CreateBuilder()</c> does not run them: use a Generic Host, or register
/// your own <c>IInferenceEngine</c>).
/// </remarks>
public static class RecurrentDepthKernelBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="RecurrentDepthChatCompletionService"/> as the kernel's chat completion, keyed by
    /// <paramref name="serviceId"/> when one is given (select it with <c>PromptExecutionSettings.ServiceId</c>).
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="serviceId">Key of the service; null registers it unkeyed.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IKernelBuilder AddRecurrentDepthChatCompletion(this IKernelBuilder builder, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRecurrentDepthChatCompletion(serviceId);
        return builder;
    }

    /// <summary>
    /// Adds a <see cref="RecurrentDepthChatClient"/> as the kernel's <c>IChatClient</c>, keyed by
    /// <paramref name="serviceId"/> when one is given.
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="serviceId">Key of the client; null registers it unkeyed.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IKernelBuilder AddRecurrentDepthChatClient(this IKernelBuilder builder, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRecurrentDepthChatClient(serviceId);
        return builder;
    }
}
