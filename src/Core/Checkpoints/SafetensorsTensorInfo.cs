namespace RecurrentDepth.Checkpoints;

/// <summary>One entry of a safetensors header: where a tensor's bytes are and how to read them.</summary>
/// <param name="Name">The tensor's key, e.g. <c>transformer.wte.weight</c>.</param>
/// <param name="DType">Element type as stored.</param>
/// <param name="Shape">Shape as stored (empty for a scalar).</param>
/// <param name="Begin">Start offset of the data, relative to the start of the data section.</param>
/// <param name="End">End offset (exclusive), relative to the start of the data section.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Number of elements: the product of <see cref="Shape"/>.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Number of bytes the data occupies.</summary>
    public long ByteLength => End - Begin;

    /// <summary>The shape as <c>[a, b, c]</c>, for messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
