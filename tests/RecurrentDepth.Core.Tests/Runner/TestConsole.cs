using System.Text.Json;
using RecurrentDepth.Devices;

namespace RecurrentDepth.Tests.Runner;

/// <summary>
/// The test assembly's own entry point, for machines without the .NET SDK (the portable GPU check, build/gpu-check.sh)
/// and for the child processes of the libtorch-folder tests. <c>dotnet test</c> does not call it.
/// <code>
/// dotnet RecurrentDepth.Core.Tests.dll --run [--class PREFIX]... [--json FILE]   run tests, print one line per failure and a summary
/// dotnet RecurrentDepth.Core.Tests.dll --libtorch-probe                          load the native backend, print what was loaded or why not
/// </code>
/// Exit codes: 0 all passed, 1 a test failed, 2 bad arguments, 3 the native backend did not load.
/// </summary>
public static class TestConsole
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length > 0 && args[0] == "--libtorch-probe")
        {
            return Probe();
        }

        if (args.Length == 0 || args[0] != "--run")
        {
            Console.Error.WriteLine("Usage: RecurrentDepth.Core.Tests --run [--class PREFIX]... [--json FILE] | --libtorch-probe");
            return 2;
        }

        var prefixes = new List<string>();
        string? json = null;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--class" when i + 1 < args.Length:
                    prefixes.Add(args[++i]);
                    break;
                case "--json" when i + 1 < args.Length:
                    json = args[++i];
                    break;
                default:
                    Console.Error.WriteLine($"Unknown or incomplete argument '{args[i]}'.");
                    return 2;
            }
        }

        if (Probe(quiet: true) != 0)
        {
            return 3;
        }

        var outcomes = new XunitInProcessRunner(prefixes).Run(typeof(TestConsole).Assembly, o =>
        {
            if (o.Result == "fail")
            {
                Console.WriteLine($"FAIL {o.Name}{Environment.NewLine}{o.Message}");
            }
        });
        int passed = outcomes.Count(o => o.Result == "pass"), failed = outcomes.Count(o => o.Result == "fail"), skipped = outcomes.Count(o => o.Result == "skip");
        var backend = LibTorchBackend.Loaded!;
        Console.WriteLine($"tests: {passed} passed, {failed} failed, {skipped} skipped ({outcomes.Sum(o => o.Seconds):F1} s) on {Environment.GetEnvironmentVariable("RDSK_TEST_DEVICE") ?? "cpu"}; libtorch {backend.Version ?? "unknown"} from {backend.Folder}");
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(new
            {
                passed,
                failed,
                skipped,
                device = Environment.GetEnvironmentVariable("RDSK_TEST_DEVICE") ?? "cpu",
                libtorch = new { backend.Folder, backend.ChosenBy, backend.Version, backend.ExpectedVersion },
                tests = outcomes,
            }, Indented));
        }

        return failed == 0 && outcomes.Count > 0 ? 0 : 1;
    }

    private static int Probe(bool quiet = false)
    {
        try
        {
            var backend = LibTorchBackend.EnsureLoaded();
            if (!quiet)
            {
                Console.WriteLine($"loaded: {backend.Describe()}");
            }

            return 0;
        }
        catch (LibTorchLoadException ex)
        {
            Console.WriteLine($"not loaded: {ex.Message}");
            Console.WriteLine($"missing: {ex.Missing ?? "(unknown)"}");
            return 3;
        }
    }
}
