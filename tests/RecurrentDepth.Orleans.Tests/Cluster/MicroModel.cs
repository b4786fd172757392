using RecurrentDepth.Engine;

namespace RecurrentDepth.Orleans.Tests.Cluster;

/// <summary>The bundled micro model, as every silo and the single-host reference load it.</summary>
internal static class MicroModel
{
    public static string Path { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");

    public static void Configure(EngineOptions options)
    {
        options.ModelPath = Path;
        options.Device = "cpu";
        options.Threads = 1;
    }
}
