using RecurrentDepth.Configuration;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// The <c>transformer</c> module of a Huginn checkpoint: embedding <c>wte</c>, <c>prelude</c> blocks, the
/// <c>adapter</c> that injects the embedded input into every recurrence, the recurrent <c>core_block</c>, the
/// <c>coda</c> blocks and the final norm <c>ln_f</c> (applied twice). Field names are the checkpoint keys.
/// </summary>
public sealed class RavenTransformer : nn.Module
{
    internal readonly TokenEmbedding wte;
    internal readonly ModuleList<SandwichBlock> prelude;
    internal readonly BiasFreeLinear adapter;
    internal readonly ModuleList<SandwichBlock> core_block;
    internal readonly ModuleList<SandwichBlock> coda;
    internal readonly RmsNorm ln_f;

    /// <summary>Creates the module tree with uninitialised weights.</summary>
    public RavenTransformer(RavenConfig config, ScalarType dtype, Device device) : base("transformer")
    {
        wte = new TokenEmbedding(config.VocabSize, config.NEmbd, dtype, device);
        prelude = new ModuleList<SandwichBlock>(Blocks(config, config.NLayersInPrelude, dtype, device));
        adapter = new BiasFreeLinear(2L * config.NEmbd, config.NEmbd, dtype, device);
        core_block = new ModuleList<SandwichBlock>(Blocks(config, config.NLayersInRecurrentBlock, dtype, device));
        coda = new ModuleList<SandwichBlock>(Blocks(config, config.NLayersInCoda, dtype, device));
        ln_f = new RmsNorm(config.NEmbd, config.NormEps, dtype, device);
        RegisterComponents();
    }

    private static SandwichBlock[] Blocks(RavenConfig config, int count, ScalarType dtype, Device device) =>
        Enumerable.Range(0, count).Select(_ => new SandwichBlock(config, dtype, device)).ToArray();
}
