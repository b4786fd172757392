System.Console.WriteLine("RecurrentDepth.SK samples: coming with the connector.");
