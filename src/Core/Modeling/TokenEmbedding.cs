using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>Token embedding table <c>weight</c> [vocab, n_embd]; also the tied LM head.</summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    /// <summary>Creates an uninitialised table.</summary>
    public TokenEmbedding(long vocabSize, long dim, ScalarType dtype, Device device) : base(nameof(TokenEmbedding))
    {
        weight = new Parameter(empty([vocabSize, dim], dtype, device), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>The table [vocab, n_embd].</summary>
    public Parameter Weight => weight;

    /// <summary>Looks up rows: (B, S) int64 -> (B, S, n_embd).</summary>
    public override Tensor forward(Tensor ids)
    {
        var shape = ids.shape.Append(weight.shape[1]).ToArray();
        return weight.index_select(0, ids.flatten()).view(shape);
    }
}
