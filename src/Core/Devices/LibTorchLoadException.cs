namespace RecurrentDepth.Devices;

/// <summary>
/// TorchSharp's native backend (libLibTorchSharp plus a libtorch) could not be loaded. The message says which
/// library, symbol or symbol version was missing, where it was looked for, and what to change.
/// </summary>
public sealed class LibTorchLoadException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full diagnosis, written for the user.</param>
    /// <param name="missing">The missing item by name (a library file, a symbol, a symbol version), when known.</param>
    /// <param name="folder">The libtorch folder that was tried, or null for the libtorch bundled with the app.</param>
    /// <param name="innerException">The TorchSharp or loader error this explains, if any.</param>
    public LibTorchLoadException(string message, string? missing, string? folder, Exception? innerException = null)
        : base(message, innerException)
    {
        Missing = missing;
        Folder = folder;
    }

    /// <summary>The missing library file, symbol or symbol version (for example <c>GLIBCXX_3.4.32</c>), when known.</summary>
    public string? Missing { get; }

    /// <summary>The libtorch folder that was tried; null for the bundled libtorch.</summary>
    public string? Folder { get; }
}
