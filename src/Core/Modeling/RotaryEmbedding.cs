using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// Rotary position embedding in Huginn's layout: adjacent pairs (2i, 2i+1) rotate together ("complex-like",
/// GPT-J / Meta-Llama style, not NeoX split-half), θᵢ = base^(−2i/d), all in fp32.
/// Holds the cos/sin tables for every position up to <c>block_size</c>, and the same angles as unit complex numbers
/// (the reference's <c>freqs_cis</c>); these are derived data, not parameters.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;
    private readonly Tensor _sin;
    private readonly Tensor _rotation;

    /// <summary>Builds the tables [maxPositions, headDim/2] on <paramref name="device"/>.</summary>
    public RotaryEmbedding(int headDim, int maxPositions, double ropeBase, Device device)
    {
        using var scope = NewDisposeScope();
        // Same float32 arithmetic as the reference's precompute: 1 / base^(arange(0, d, 2) / d), outer(t, inv_freq).
        var exponents = arange(0, headDim, 2, ScalarType.Float32) / (float)headDim;
        var invFreq = pow(tensor((float)ropeBase), exponents).reciprocal();
        var angles = outer(arange(maxPositions, ScalarType.Float32), invFreq);
        _cos = angles.cos().to(device).DetachFromDisposeScope();
        _sin = angles.sin().to(device).DetachFromDisposeScope();
        _rotation = complex(_cos, _sin).DetachFromDisposeScope();
        MaxPositions = maxPositions;
    }

    /// <summary>Number of positions the tables cover (the config's <c>block_size</c>).</summary>
    public int MaxPositions { get; }

    /// <summary>cos table [maxPositions, headDim/2], fp32.</summary>
    public Tensor Cos => _cos;

    /// <summary>sin table [maxPositions, headDim/2], fp32.</summary>
    public Tensor Sin => _sin;

    /// <summary>
    /// Gathers e^(iθ) for the given positions, shaped to broadcast over attention's (…, B, H, S, D/2) layout:
    /// positions (S) -> (1, 1, S, D/2); positions (B, S) -> (B, 1, S, D/2); complex64.
    /// </summary>
    public Tensor RotationFor(Tensor positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        return _rotation.index_select(0, positions.flatten())
            .view(positions.dim() == 2 ? positions.shape[0] : 1, 1, positions.shape[^1], _rotation.shape[1]);
    }

    /// <summary>
    /// Rotates x (…, D) pair by pair: each (x₂ᵢ, x₂ᵢ₊₁) as the complex number x₂ᵢ + i·x₂ᵢ₊₁ times
    /// <paramref name="rotation"/> (broadcastable to (…, D/2), complex64), as the reference's
    /// <c>apply_rotary_emb_complex_like</c>; computed in fp32, returned in x's dtype. Five tensor calls in fp32.
    /// x's last dimension must be contiguous with every other stride even (a view of a projection's output is).
    /// </summary>
    public static Tensor Rotate(Tensor x, Tensor rotation)
    {
        ArgumentNullException.ThrowIfNull(x);
        var x32 = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        var turned = view_as_real(view_as_complex(x32.unflatten(x.dim() - 1, [x.shape[^1] / 2, 2])) * rotation).flatten(-2);
        return x.dtype == ScalarType.Float32 ? turned : turned.to(x.dtype);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
        _rotation.Dispose();
    }
}
