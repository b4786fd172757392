using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>What one forward pass returns. The caller owns (and disposes) every tensor in it.</summary>
public sealed class RavenOutput : IDisposable
{
    /// <summary>Logits (B, S, vocab), always fp32.</summary>
    public required Tensor Logits { get; init; }

    /// <summary>ln_f of the final recurrent state (B, S, h): the reference's <c>latent_states</c>.</summary>
    public required Tensor LatentStates { get; init; }

    /// <summary>The final recurrent state before ln_f (B, S, h).</summary>
    public required Tensor FinalState { get; init; }

    /// <summary>The prelude output e (B, S, h) that was injected into every recurrence.</summary>
    public required Tensor EmbeddedInput { get; init; }

    /// <summary>The raw state after each recurrence, when requested; element i is the state after step i + 1.</summary>
    public IReadOnlyList<Tensor>? Trajectory { get; init; }

    /// <inheritdoc />
    public void Dispose()
    {
        Logits.Dispose();
        LatentStates.Dispose();
        FinalState.Dispose();
        EmbeddedInput.Dispose();
        foreach (var t in Trajectory ?? [])
        {
            t.Dispose();
        }
    }
}
