using static TorchSharp.torch;

namespace RecurrentDepth.Checkpoints;

/// <summary>Element types a safetensors header may declare that this library reads.</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 binary64.</summary>
    F64,

    /// <summary>IEEE 754 binary32.</summary>
    F32,

    /// <summary>IEEE 754 binary16.</summary>
    F16,

    /// <summary>bfloat16 (the upper half of a binary32).</summary>
    BF16,

    /// <summary>Signed 64-bit integer.</summary>
    I64,

    /// <summary>Signed 32-bit integer.</summary>
    I32,

    /// <summary>Signed 16-bit integer.</summary>
    I16,

    /// <summary>Signed 8-bit integer.</summary>
    I8,

    /// <summary>Unsigned 8-bit integer.</summary>
    U8,

    /// <summary>One byte per boolean.</summary>
    BOOL,
}

/// <summary>Conversions between safetensors dtype names, byte sizes and TorchSharp scalar types.</summary>
public static class SafetensorsDTypes
{
    /// <summary>Parses a header dtype string (<c>"F32"</c>, <c>"BF16"</c>, ...); returns false for unknown names.</summary>
    public static bool TryParse(string name, out SafetensorsDType dtype) =>
        Enum.TryParse(name, ignoreCase: false, out dtype) && Enum.IsDefined(dtype);

    /// <summary>Bytes per element.</summary>
    public static int ItemSize(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        _ => 1,
    };

    /// <summary>The TorchSharp scalar type with the same memory layout.</summary>
    public static ScalarType ToScalarType(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 => ScalarType.Float64,
        SafetensorsDType.F32 => ScalarType.Float32,
        SafetensorsDType.F16 => ScalarType.Float16,
        SafetensorsDType.BF16 => ScalarType.BFloat16,
        SafetensorsDType.I64 => ScalarType.Int64,
        SafetensorsDType.I32 => ScalarType.Int32,
        SafetensorsDType.I16 => ScalarType.Int16,
        SafetensorsDType.I8 => ScalarType.Int8,
        SafetensorsDType.U8 => ScalarType.Byte,
        SafetensorsDType.BOOL => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>The safetensors dtype for a TorchSharp scalar type.</summary>
    /// <exception cref="ArgumentException">The scalar type has no safetensors name supported here.</exception>
    public static SafetensorsDType FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Float64 => SafetensorsDType.F64,
        ScalarType.Float32 => SafetensorsDType.F32,
        ScalarType.Float16 => SafetensorsDType.F16,
        ScalarType.BFloat16 => SafetensorsDType.BF16,
        ScalarType.Int64 => SafetensorsDType.I64,
        ScalarType.Int32 => SafetensorsDType.I32,
        ScalarType.Int16 => SafetensorsDType.I16,
        ScalarType.Int8 => SafetensorsDType.I8,
        ScalarType.Byte => SafetensorsDType.U8,
        ScalarType.Bool => SafetensorsDType.BOOL,
        _ => throw new ArgumentException($"Scalar type {type} cannot be stored in safetensors by this library.", nameof(type)),
    };
}
