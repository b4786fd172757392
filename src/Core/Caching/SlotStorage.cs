using static TorchSharp.torch;

namespace RecurrentDepth.Caching;

/// <summary>
/// One slot's keys and values of one sequence: a preallocated (1, H, capacity, D) tensor pair that grows
/// geometrically, and which positions hold an entry (early exit leaves holes).
/// </summary>
internal sealed class SlotStorage(long heads, long headDim, ScalarType dtype, Device device) : IDisposable
{
    /// <summary>Smallest capacity allocated, in positions.</summary>
    internal const int MinimumCapacity = 64;

    private bool[] _present = [];

    // Allocated on the first write (always within a model call's dispose scope, hence detached there).
    public Tensor Keys { get; private set; } = null!;

    public Tensor Values { get; private set; } = null!;

    public int Capacity => _present.Length;

    public int PresentCount { get; private set; }

    public bool Has(int position) => position < _present.Length && _present[position];

    public void Write(int start, Tensor keys, Tensor values, int length)
    {
        if (length > Capacity)
        {
            Grow(Math.Max(Math.Max(length, MinimumCapacity), Capacity * 2));
        }

        int count = (int)keys.shape[2];
        Keys.narrow(2, start, count).copy_(keys);
        Values.narrow(2, start, count).copy_(values);
        for (int p = start; p < start + count; p++)
        {
            if (!_present[p])
            {
                _present[p] = true;
                PresentCount++;
            }
        }
    }

    public void Forget(int length)
    {
        for (int p = length; p < _present.Length; p++)
        {
            if (_present[p])
            {
                _present[p] = false;
                PresentCount--;
            }
        }
    }

    private void Grow(int capacity)
    {
        var keys = zeros([1, heads, capacity, headDim], dtype, device);
        var values = zeros([1, heads, capacity, headDim], dtype, device);
        int old = Capacity;
        if (old > 0)
        {
            keys.narrow(2, 0, old).copy_(Keys);
            values.narrow(2, 0, old).copy_(Values);
        }

        Keys?.Dispose();
        Values?.Dispose();
        Keys = keys.DetachFromDisposeScope();
        Values = values.DetachFromDisposeScope();
        Array.Resize(ref _present, capacity);
    }

    public void Dispose()
    {
        Keys?.Dispose();
        Values?.Dispose();
    }
}
