using System.Runtime.CompilerServices;
using TorchSharp;

namespace RecurrentDepth.Orleans.Tests;

internal static class TorchTestSetup
{
    // Three silos share two cores: one libtorch thread each keeps the suite predictable.
    [ModuleInitializer]
    internal static void UseOneTorchThread() => torch.set_num_threads(1);
}
