using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RecurrentDepth.Orleans.Client;
using RecurrentDepth.SemanticKernel;

namespace RecurrentDepth.Orleans.Hosting;

/// <summary>Binds <typeparamref name="TOptions"/> from a section of the app's configuration, when the container has one.</summary>
internal abstract class SectionBinder<TOptions>(string section, IConfiguration? configuration) : IConfigureOptions<TOptions>
    where TOptions : class
{
    public void Configure(TOptions options) => configuration?.GetSection(section).Bind(options);
}

/// <summary>Binds <see cref="RecurrentDepthClusterOptions"/> from <c>RecurrentDepth:Cluster</c>.</summary>
internal sealed class ClusterOptionsBinder(IConfiguration? configuration = null)
    : SectionBinder<RecurrentDepthClusterOptions>(RecurrentDepthClusterOptions.SectionName, configuration);

/// <summary>Binds the chat settings (<see cref="RecurrentDepthOptions"/>) from <c>RecurrentDepth</c>, as the connector's own registration does.</summary>
internal sealed class ChatOptionsBinder(IConfiguration? configuration = null)
    : SectionBinder<RecurrentDepthOptions>(RecurrentDepthOptions.SectionName, configuration);
