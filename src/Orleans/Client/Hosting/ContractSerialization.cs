using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace RecurrentDepth.Orleans.Hosting;

/// <summary>
/// Lets Orleans carry the contract's types (RecurrentDepth.Abstractions has no package references, so no Orleans
/// attributes): requests, updates and summaries travel as System.Text.Json. Silo and client both register it.
/// </summary>
internal static class ContractSerialization
{
    private static readonly string[] Namespaces = ["RecurrentDepth.Engine", "RecurrentDepth.Generation", "RecurrentDepth.Caching", "RecurrentDepth.Tokenization"];

    public static IServiceCollection AddContractSerialization(this IServiceCollection services) =>
        services.AddSerializer(builder => builder.AddJsonSerializer(isSupported: IsContractType));

    internal static bool IsContractType(Type type) =>
        type.Assembly == typeof(Engine.GenerationRequest).Assembly && type.Namespace is { } ns && Namespaces.Contains(ns);
}
