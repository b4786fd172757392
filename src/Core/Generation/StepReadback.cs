using static TorchSharp.torch;

namespace RecurrentDepth.Generation;

/// <summary>
/// Collects everything a decode step needs on the host (exit values, finite flags, sampled tokens of every batch) as
/// small fp32 device vectors and brings them over in one device-to-host read. Token ids are exact in fp32 (below
/// 2^24). One instance serves one step.
/// </summary>
internal sealed class StepReadback : IDisposable
{
    private readonly List<Tensor> _parts = [];
    private float[] _values = [];
    private int _length;

    /// <summary>Queues a vector (any shape, flattened, converted to fp32); returns its offset in the read.</summary>
    public int Add(Tensor vector)
    {
        var part = vector.flatten().to(ScalarType.Float32).DetachFromDisposeScope();
        _parts.Add(part);
        int offset = _length;
        _length += (int)part.shape[0];
        return offset;
    }

    /// <summary>Whether anything was queued.</summary>
    public bool HasParts => _parts.Count > 0;

    /// <summary>Reads every queued vector with one copy; returns false when there was nothing to read.</summary>
    public bool Read()
    {
        if (_parts.Count == 0)
        {
            return false;
        }

        using var scope = NewDisposeScope();
        var all = _parts.Count == 1 ? _parts[0] : cat(_parts, 0);
        _values = all.cpu().data<float>().ToArray();
        return true;
    }

    /// <summary>The value at <paramref name="offset"/> after <see cref="Read"/>.</summary>
    public float this[int offset] => _values[offset];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var part in _parts)
        {
            part.Dispose();
        }

        _parts.Clear();
    }
}
