using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RecurrentDepth.SemanticKernel;

/// <summary>Binds the <c>RecurrentDepth</c> section of the app's configuration, when the container has one.</summary>
internal sealed class RecurrentDepthConfigureOptions(IConfiguration? configuration = null) : IConfigureOptions<RecurrentDepthOptions>
{
    public void Configure(RecurrentDepthOptions options) =>
        configuration?.GetSection(RecurrentDepthOptions.SectionName).Bind(options);
}
