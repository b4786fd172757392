using Microsoft.Extensions.Options;

namespace RecurrentDepth.Server.Hosting;

/// <summary>Reports every invalid <see cref="ServerOptions"/> field at start-up, each message naming its option.</summary>
internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var problems = options.Problems().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
