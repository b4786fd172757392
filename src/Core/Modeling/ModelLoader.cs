using System.Diagnostics;
using RecurrentDepth.Checkpoints;
using RecurrentDepth.Configuration;
using RecurrentDepth.Devices;
using static TorchSharp.torch;

namespace RecurrentDepth.Modeling;

/// <summary>
/// Copies checkpoint tensors into a freshly built <see cref="RavenModel"/> by name. Tensors are read one at a time
/// from a private mapping of the file and converted straight into the parameter's dtype and device, so the peak
/// memory is the model plus one tensor: a 16 GB fp32 checkpoint loads into 7 GB of bf16 on a 24 GB machine.
/// </summary>
public static class ModelLoader
{
    /// <summary>The tied head's key; accepted (and shape-checked) but not loaded, since the head reads wte.</summary>
    public const string LmHeadKey = "lm_head.weight";

    /// <summary>The reference's persistent RoPE buffer; accepted and checked against the recomputed table.</summary>
    public const string FreqsCisKey = "freqs_cis";

    /// <summary>Loads <c>config.json</c> and the safetensors weights of a checkpoint folder.</summary>
    public static RavenModel Load(string folder, ModelLoadOptions options, IProgress<ModelLoadProgress>? progress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(options);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"Model folder '{full}' does not exist.");
        }

        var config = RavenConfig.Load(Path.Combine(full, "config.json"));
        var device = ComputeDevice.Resolve(options.Device);
        var dtype = ComputeDevice.ResolveDType(options.DType, device);
        using var checkpoint = SafetensorsCheckpoint.Open(full);
        var model = new RavenModel(config, dtype, device);
        try
        {
            LoadWeights(model, checkpoint, options.VerifyTiedHead, progress, options.CheckFinite);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return model;
    }

    /// <summary>Copies every parameter of <paramref name="model"/> from <paramref name="checkpoint"/>, checking names and shapes.</summary>
    /// <exception cref="InvalidDataException">
    /// A parameter is missing or has the wrong shape, the checkpoint has a tensor the model does not, or (with
    /// <paramref name="checkFinite"/>) a loaded weight holds NaN or infinity.
    /// </exception>
    public static void LoadWeights(RavenModel model, SafetensorsCheckpoint checkpoint, bool verifyTiedHead = false, IProgress<ModelLoadProgress>? progress = null, bool checkFinite = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoint);
        var parameters = model.ParametersByKey();
        CheckNames(model, checkpoint, parameters);

        long total = parameters.Keys.Sum(k => { checkpoint.TryGetInfo(k, out var info, out _); return info.ByteLength; });
        long loaded = 0;
        int count = 0;
        var clock = Stopwatch.StartNew();
        using (no_grad())
        {
            foreach (var (name, parameter) in parameters)
            {
                checkpoint.TryGetInfo(name, out var info, out var file);
                CheckShape(model.Config, info, file, parameter.shape);
                CheckFloat(info, file);
                using (var scope = NewDisposeScope())
                {
                    if (info.DType.ToScalarType() == parameter.dtype && parameter.device.type == TorchSharp.DeviceType.CPU)
                    {
                        // Same dtype on the CPU: copy straight from the file mapping (the mmap path).
                        parameter.copy_(file.Read(name));
                    }
                    else
                    {
                        // A conversion (fp32 -> bf16) or a device copy: stream in chunks, so the mapped fp32 pages never pile up.
                        file.CopyInto(name, parameter);
                    }

                    if (checkFinite)
                    {
                        CheckFinite(parameter, info, file);
                    }
                }

                loaded += info.ByteLength;
                count++;
                progress?.Report(new ModelLoadProgress(name, Path.GetFileName(file.Path), count, parameters.Count, loaded, total, clock.Elapsed));
            }
        }

        CheckTiedHead(model, checkpoint, verifyTiedHead);
        CheckRotaryTable(model, checkpoint);
    }

    private static void CheckNames(RavenModel model, SafetensorsCheckpoint checkpoint, IReadOnlyDictionary<string, TorchSharp.Modules.Parameter> parameters)
    {
        var files = string.Join(", ", checkpoint.Files.Select(f => Path.GetFileName(f.Path)));
        var missing = parameters.Keys.Where(k => !checkpoint.TryGetInfo(k, out _, out _)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException(
                $"Checkpoint ({files}) is missing tensor '{missing[0]}'{(missing.Count > 1 ? $" and {missing.Count - 1} more" : "")}; " +
                $"config.json describes {model.Config.NLayersInPrelude} prelude, {model.Config.NLayersInRecurrentBlock} core and {model.Config.NLayersInCoda} coda layers.");
        }

        var unexpected = checkpoint.TensorNames
            .Where(k => !parameters.ContainsKey(k) && k != LmHeadKey && k != FreqsCisKey)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (unexpected.Count > 0)
        {
            checkpoint.TryGetInfo(unexpected[0], out _, out var file);
            throw new InvalidDataException(
                $"Tensor '{unexpected[0]}' in {Path.GetFileName(file.Path)} is not part of the model described by config.json" +
                $"{(unexpected.Count > 1 ? $" ({unexpected.Count - 1} more unexpected tensors)" : "")}.");
        }
    }

    private static void CheckShape(RavenConfig config, SafetensorsTensorInfo info, SafetensorsFile file, long[] expected)
    {
        if (!info.Shape.SequenceEqual(expected))
        {
            throw new InvalidDataException(
                $"Tensor '{info.Name}' in {Path.GetFileName(file.Path)} has shape {info.ShapeText}; config.json " +
                $"(n_embd {config.NEmbd}, n_heads {config.NHeads}, intermediate_size {config.IntermediateSize}, vocab {config.VocabSize}) " +
                $"requires [{string.Join(", ", expected)}].");
        }
    }

    private static void CheckFloat(SafetensorsTensorInfo info, SafetensorsFile file)
    {
        if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
        {
            throw new InvalidDataException($"Tensor '{info.Name}' in {Path.GetFileName(file.Path)} is stored as {info.DType}; weights must be F32, BF16, F16 or F64.");
        }
    }

    private static void CheckFinite(TorchSharp.Modules.Parameter parameter, SafetensorsTensorInfo info, SafetensorsFile file)
    {
        // One reduction and one host read per tensor; the count is computed only for the error message.
        if (isfinite(parameter).all().item<bool>())
        {
            return;
        }

        long nan = isnan(parameter).sum().item<long>();
        long bad = (~isfinite(parameter)).sum().item<long>();
        throw new InvalidDataException(
            $"Tensor '{info.Name}' in {Path.GetFileName(file.Path)} holds {bad} non-finite value(s) ({nan} NaN, {bad - nan} infinite) " +
            $"after conversion to {parameter.dtype}; the checkpoint is damaged (or overflows this dtype). Set RecurrentDepth:CheckWeights to false to load it anyway.");
    }

    private static void CheckTiedHead(RavenModel model, SafetensorsCheckpoint checkpoint, bool verifyValues)
    {
        if (!checkpoint.TryGetInfo(LmHeadKey, out var head, out var file))
        {
            return;
        }

        var wte = model.Transformer.wte.Weight;
        CheckShape(model.Config, head, file, wte.shape);
        if (!verifyValues)
        {
            return;
        }

        using var scope = NewDisposeScope();
        var stored = file.Read(LmHeadKey).to(wte.dtype, wte.device);
        // Tensor.equal is element-wise in TorchSharp (torch.eq), so reduce it: every element must match.
        if (!stored.eq(wte).all().item<bool>())
        {
            double diff = (stored.to(ScalarType.Float32) - wte.to(ScalarType.Float32)).abs().max().item<float>();
            throw new InvalidDataException(
                $"Tensor '{LmHeadKey}' in {Path.GetFileName(file.Path)} differs from 'transformer.wte.weight' (max abs difference {diff:G3}); " +
                "Huginn ties the head to the embedding, so the two must be equal.");
        }
    }

    private static void CheckRotaryTable(RavenModel model, SafetensorsCheckpoint checkpoint)
    {
        if (!checkpoint.TryGetInfo(FreqsCisKey, out var info, out var file))
        {
            return;
        }

        var config = model.Config;
        long[] expected = [1, config.BlockSize, 1, config.HeadDim / 2, 2];
        CheckShape(config, info, file, expected);
        using var scope = NewDisposeScope();
        var stored = file.Read(FreqsCisKey).to(ScalarType.Float32).view(config.BlockSize, config.HeadDim / 2, 2).to(model.Device);
        var recomputed = stack([model.Rotary.Cos, model.Rotary.Sin], -1);
        // A bf16 copy of the buffer (some exports cast it) is still the same table within bf16 rounding.
        double tolerance = info.DType == SafetensorsDType.F32 ? 1e-4 : 1e-2;
        double diff = (stored - recomputed).abs().max().item<float>();
        if (diff > tolerance)
        {
            throw new InvalidDataException(
                $"Tensor '{FreqsCisKey}' in {Path.GetFileName(file.Path)} differs from the RoPE table computed from config.json " +
                $"(rope_base {config.RopeBase}, head_dim {config.HeadDim}) by {diff:G3} (tolerance {tolerance:G3}); the config does not match these weights.");
        }
    }
}
