using System.Runtime.InteropServices;

namespace RecurrentDepth.Devices;

/// <summary>
/// The Linux dynamic loader, called directly: unlike <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/> it
/// returns the loader's own error text (which library or symbol was missing), and it can bind every symbol up front
/// (<c>RTLD_NOW</c>), so a libtorch that lacks a function TorchSharp calls fails here, by name, instead of killing the
/// process at the first call.
/// </summary>
internal static partial class PosixDynamicLoader
{
    private const int RtldLazy = 0x00001;
    private const int RtldNow = 0x00002;

    /// <summary>Opens <paramref name="path"/>; with <paramref name="bindAllSymbols"/> every symbol is resolved now.</summary>
    /// <returns>The handle, or <see cref="IntPtr.Zero"/> with the loader's message in <paramref name="error"/>.</returns>
    public static IntPtr Open(string path, bool bindAllSymbols, out string? error)
    {
        _ = dlerror(); // clear a stale message
        var handle = dlopen(path, bindAllSymbols ? RtldNow : RtldLazy);
        error = handle == IntPtr.Zero ? Marshal.PtrToStringUTF8(dlerror()) ?? "dlopen failed without a message" : null;
        return handle;
    }

    // libdl.so.2 exists on every glibc (a stub forwarding to libc since glibc 2.34), so one name serves old and new.
    [LibraryImport("libdl.so.2", StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial IntPtr dlopen(string fileName, int flags);

    [LibraryImport("libdl.so.2")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial IntPtr dlerror();
}
