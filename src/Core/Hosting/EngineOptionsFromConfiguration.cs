using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RecurrentDepth.Engine;

namespace RecurrentDepth.Hosting;

/// <summary>Binds the <c>RecurrentDepth</c> section of the app's configuration, when the container has one.</summary>
internal sealed class EngineOptionsFromConfiguration(IConfiguration? configuration = null) : IConfigureOptions<EngineOptions>
{
    public void Configure(EngineOptions options) =>
        configuration?.GetSection(EngineOptions.SectionName).Bind(options);
}
