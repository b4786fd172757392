using Microsoft.Extensions.Options;
using RecurrentDepth.Engine;

namespace RecurrentDepth.Hosting;

/// <summary>Runs <see cref="EngineOptions.Validate"/> (the one place the options are checked) when the host starts.</summary>
internal sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        var failures = options.Problems().Select(p => p.Message).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
