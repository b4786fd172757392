namespace RecurrentDepth.AgentSamples;

/// <summary>Command-line options of the samples.</summary>
internal sealed record SampleOptions
{
    public const string DefaultModelFolder = "huginn-micro-arith";

    public string? ModelPath { get; init; }

    public string? Effort { get; init; }

    public bool Chat { get; init; }

    public bool Help { get; init; }

    public int Problems { get; init; } = 25;

    public string Device { get; init; } = "auto";

    /// <summary>Held-out chains the agent solves per strategy (see ChainAgentSession).</summary>
    public int Chains { get; init; } = 20;

    /// <summary>Where to write the agent table as markdown, if anywhere.</summary>
    public string? ChainsMarkdown { get; init; }

    public static SampleOptions Parse(string[] args)
    {
        var options = new SampleOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            options = args[i] switch
            {
                "--model" or "-m" => options with { ModelPath = Value() },
                "--effort" or "-e" => options with { Effort = Value() },
                "--chat" or "-c" => options with { Chat = true },
                "--problems" => options with { Problems = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) },
                "--device" => options with { Device = Value() },
                "--chains" => options with { Chains = int.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture) },
                "--chains-markdown" => options with { ChainsMarkdown = Value() },
                "--help" or "-h" or "-?" => options with { Help = true },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'. Run with --help for the list."),
            };
        }

        return options;
    }

    /// <summary>The bundled micro model, copied next to the samples at build time.</summary>
    public static string BundledModelPath => Path.Combine(AppContext.BaseDirectory, "models", DefaultModelFolder);

    public string ResolvedModelPath => ModelPath is null ? BundledModelPath : Path.GetFullPath(ModelPath);

    /// <summary>The micro model (bundled, or a copy/retrain of it) answers arithmetic, so its session is scored.</summary>
    public bool IsArithmeticModel => Path.GetFileName(ResolvedModelPath.TrimEnd(Path.DirectorySeparatorChar)).Contains("micro-arith", StringComparison.Ordinal);

    /// <summary>The test fixture's weights are random: say so rather than let its output look like a bug.</summary>
    public bool IsRandomTestModel => Path.GetFileName(ResolvedModelPath.TrimEnd(Path.DirectorySeparatorChar)) == "huginn-tiny";

    public const string Usage = """
        RecurrentDepth.SK samples: thinking effort as latent compute, through Semantic Kernel.

        Usage: dotnet run --project src/AgentSamples -- [options]

          (no options)       Scripted session on the bundled micro model (models/huginn-micro-arith): the same
                             arithmetic problems at several thinking efforts, scored, with steps per token and tokens/s.
          --model PATH       Any Huginn checkpoint folder (config.json, *.safetensors, tokenizer.json), e.g. huginn-0125.
          --effort LEVEL     none | minimal | low | medium | high | xhigh | adaptive (chat mode and custom models).
          --chat             Interactive chat; type /effort LEVEL to change effort, /quit to leave.
          --problems N       Problems per effort in the scripted session (default 25).
          --device DEVICE    auto | cpu | cuda | cuda:N (default auto).
          --chains N         Held-out 24-operation chains the agent solves per strategy (default 20).
          --chains-markdown PATH  Also write the agent table as markdown to PATH.
          --help             This text.
        """;
}
