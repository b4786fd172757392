System.Console.WriteLine("RecurrentDepth.Training: coming.");
