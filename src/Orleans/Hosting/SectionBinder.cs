using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RecurrentDepth.Orleans.Hosting;

/// <summary>Binds <typeparamref name="TOptions"/> from a section of the app's configuration, when the container has one.</summary>
internal sealed class SectionBinder<TOptions>(string section, IConfiguration? configuration) : IConfigureOptions<TOptions>
    where TOptions : class
{
    public void Configure(TOptions options) => configuration?.GetSection(section).Bind(options);
}
