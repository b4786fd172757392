using Microsoft.Extensions.Options;
using RecurrentDepth.Devices;

namespace RecurrentDepth.SemanticKernel;

/// <summary>
/// Validates the model fields of <see cref="RecurrentDepthOptions"/> when the model is hosted in-process. Checks the
/// forms only; whether CUDA is present is checked when the model loads (a failed load is reported by the health check).
/// </summary>
internal sealed class RecurrentDepthModelOptionsValidator : IValidateOptions<RecurrentDepthOptions>
{
    public ValidateOptionsResult Validate(string? name, RecurrentDepthOptions options)
    {
        const string S = RecurrentDepthOptions.SectionName;
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ModelPath))
        {
            failures.Add($"{S}:ModelPath is required: the folder of a Huginn checkpoint (config.json, model.safetensors, tokenizer.json).");
        }

        if (options.MaxBatch < 1)
        {
            failures.Add($"{S}:MaxBatch must be at least 1 (got {options.MaxBatch}).");
        }

        if (options.MaxQueue < 1)
        {
            failures.Add($"{S}:MaxQueue must be at least 1 (got {options.MaxQueue}).");
        }

        if (options.MaxContext < 0)
        {
            failures.Add($"{S}:MaxContext must be ≥ 0, 0 meaning the model's block size (got {options.MaxContext}).");
        }

        if (options.Threads < 0)
        {
            failures.Add($"{S}:Threads must be ≥ 0, 0 meaning libtorch's default (got {options.Threads}).");
        }

        if (!ComputeDevice.IsValidSpec(options.Device))
        {
            failures.Add($"{S}:Device '{options.Device}' is not valid; expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\".");
        }

        if (!ComputeDevice.IsValidDType(options.DType))
        {
            failures.Add($"{S}:DType '{options.DType}' is not valid; expected \"auto\", \"float32\", \"bfloat16\" or \"float16\".");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
