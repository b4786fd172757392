using System.Runtime.CompilerServices;
using RecurrentDepth.Devices;
using TorchSharp;

namespace RecurrentDepth.Tests.TestSupport;

internal static class TorchTestSetup
{
    // With 2 threads on 2 cores some libtorch runs are 5-20x slower; one thread keeps the suite predictable.
    // The backend is chosen first (RDSK_LIBTORCH_DIR, if set), before this first TorchSharp call. A load failure is
    // kept by LibTorchBackend and thrown, with its diagnosis, by the first test that touches a device; the console
    // runner's --libtorch-probe prints it.
    [ModuleInitializer]
    internal static void UseOneTorchThread()
    {
        try
        {
            LibTorchBackend.EnsureLoaded();
        }
        catch (LibTorchLoadException)
        {
            return;
        }

        torch.set_num_threads(1);
    }
}
