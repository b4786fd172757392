namespace RecurrentDepth.Benchmarks.Harness;

/// <summary>One benchmark subcommand.</summary>
public interface IBenchmark
{
    /// <summary>One line for the usage text.</summary>
    string Description { get; }

    /// <summary>Runs the benchmark and prints its table; returns the process exit code.</summary>
    int Run(BenchmarkOptions options);
}
