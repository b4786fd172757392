using Microsoft.Extensions.Configuration;

namespace RecurrentDepth.Orleans.Hosting;

/// <summary>Binds <see cref="RecurrentDepthSiloOptions"/> from <c>RecurrentDepth:Silo</c>.</summary>
internal sealed class SiloOptionsBinder(IConfiguration? configuration = null)
    : SectionBinder<RecurrentDepthSiloOptions>(RecurrentDepthSiloOptions.SectionName, configuration);
