using System.Runtime.CompilerServices;
using TorchSharp;

namespace RecurrentDepth.Training.Tests;

internal static class TorchTestSetup
{
    // With 2 threads on 2 cores some libtorch runs are 5-20x slower; one thread keeps the suite predictable.
    [ModuleInitializer]
    internal static void UseOneTorchThread() => torch.set_num_threads(1);
}
