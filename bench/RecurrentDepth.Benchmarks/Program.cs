using RecurrentDepth.Benchmarks;

// Minimal dispatch; the benchmarks branch adds its own commands next to "decode".
if (args.Length > 0 && args[0] == "decode")
{
    return DecodeBenchmark.Run(args[1..]);
}

Console.WriteLine("usage: RecurrentDepth.Benchmarks decode [--tokens N] [--repeats N] [--model DIR]");
return 1;
