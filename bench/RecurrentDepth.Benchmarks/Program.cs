System.Console.WriteLine("RecurrentDepth.Benchmarks: coming.");
