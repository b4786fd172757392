using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using RecurrentDepth.Server.Hosting;
using RecurrentDepth.Server.Wire;

namespace RecurrentDepth.Server.Endpoints;

/// <summary>
/// Requires <c>Authorization: Bearer &lt;key&gt;</c> with one of <see cref="ServerOptions.ApiKeys"/> on the routes it
/// guards, when any key is configured; answers an OpenAI-shaped 401 otherwise. Keys are compared in constant time.
/// </summary>
internal sealed class ApiKeyFilter(IOptions<ServerOptions> options) : IEndpointFilter
{
    private readonly byte[][] _keys = [.. options.Value.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_keys.Length == 0 || IsAuthorized(context.HttpContext.Request.Headers.Authorization.ToString()))
        {
            return await next(context).ConfigureAwait(false);
        }

        await ErrorResults.WriteAsync(context.HttpContext, new ApiError(
            StatusCodes.Status401Unauthorized,
            "Missing or incorrect API key: send 'Authorization: Bearer <key>' with a key from Server:ApiKeys.",
            ApiError.InvalidRequest, null, "invalid_api_key")).ConfigureAwait(false);
        return Results.Empty;
    }

    private bool IsAuthorized(string header)
    {
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
        bool match = false;
        foreach (var key in _keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(presented, key);
        }

        return match;
    }
}
