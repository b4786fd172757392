using TorchSharp;
using static TorchSharp.torch;

namespace RecurrentDepth.Devices;

/// <summary>Turns the user's device and dtype settings into TorchSharp values, with errors that say what to change.</summary>
public static class ComputeDevice
{
    /// <summary>Whether <paramref name="spec"/> has a valid device form; see <see cref="DeviceNames.IsValidSpec"/>.</summary>
    public static bool IsValidSpec(string? spec) => DeviceNames.IsValidSpec(spec);

    /// <summary>Whether <paramref name="name"/> is a dtype name <see cref="ResolveDType"/> accepts; see <see cref="DeviceNames.IsValidDType"/>.</summary>
    public static bool IsValidDType(string? name) => DeviceNames.IsValidDType(name);

    /// <summary>
    /// Resolves <c>"auto"</c> (CUDA device 0 when available, else CPU), <c>"cpu"</c>, <c>"cuda"</c> or <c>"cuda:N"</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not one of those forms, or CUDA (or device N) is not available.</exception>
    /// <exception cref="LibTorchLoadException">TorchSharp's native backend cannot be loaded (see <see cref="LibTorchBackend"/>).</exception>
    public static Device Resolve(string? spec)
    {
        // The first TorchSharp call of a model load: the native backend is chosen and checked here.
        LibTorchBackend.EnsureLoaded();
        var text = string.IsNullOrWhiteSpace(spec) ? "auto" : spec.Trim().ToLowerInvariant();
        if (text == "auto")
        {
            return cuda.is_available() ? new Device(DeviceType.CUDA, 0) : CPU;
        }

        if (text == "cpu")
        {
            return CPU;
        }

        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (text.Length > 4 && !int.TryParse(text.AsSpan(5), out index))
            {
                throw new ArgumentException($"Device '{spec}' is not valid; expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\".", nameof(spec));
            }

            if (!cuda.is_available())
            {
                throw new ArgumentException(
                    $"Device '{spec}' was requested but CUDA is not available: this build references the CPU libtorch " +
                    "(build with -p:TorchDevice=cuda on a machine with an NVIDIA driver), or no GPU is visible.", nameof(spec));
            }

            int count = cuda.device_count();
            if (index < 0 || index >= count)
            {
                throw new ArgumentException($"Device '{spec}' does not exist; {count} CUDA device(s) are visible.", nameof(spec));
            }

            return new Device(DeviceType.CUDA, index);
        }

        throw new ArgumentException($"Device '{spec}' is not valid; expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\".", nameof(spec));
    }

    /// <summary>
    /// Resolves a dtype name: <c>"auto"</c> (bf16 on CUDA, fp32 on CPU, where bf16 matmul is slower),
    /// <c>"float32"</c>/<c>"fp32"</c>, <c>"bfloat16"</c>/<c>"bf16"</c>, <c>"float16"</c>/<c>"fp16"</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is none of those.</exception>
    public static ScalarType ResolveDType(string? name, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return (string.IsNullOrWhiteSpace(name) ? "auto" : name.Trim().ToLowerInvariant()) switch
        {
            "auto" => device.type == DeviceType.CUDA ? ScalarType.BFloat16 : ScalarType.Float32,
            "float32" or "fp32" or "f32" => ScalarType.Float32,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
            _ => throw new ArgumentException($"DType '{name}' is not valid; expected \"auto\", \"float32\", \"bfloat16\" or \"float16\".", nameof(name)),
        };
    }
}
