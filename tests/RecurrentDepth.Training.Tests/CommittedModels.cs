namespace RecurrentDepth.Training.Tests;

/// <summary>The committed micro models, copied next to the tests, and the latent model's tokenizer.</summary>
internal static class CommittedModels
{
    /// <summary>models/huginn-micro-arith: the latent-reasoning micro model.</summary>
    public static readonly string Latent = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith");

    /// <summary>models/huginn-micro-arith-cot: the chain-of-thought baseline.</summary>
    public static readonly string Cot = Path.Combine(AppContext.BaseDirectory, "models", "huginn-micro-arith-cot");

    // Loaded once: HuginnTokenizer is immutable and safe to share between tests running in parallel.
    private static readonly Lazy<TaskTokenizer> LatentTokenizer = new(() => TaskTokenizer.Load(Latent));

    /// <summary>The latent model's tokenizer (HuginnTokenizer over its tokenizer.json), shared by the tests.</summary>
    public static TaskTokenizer Tokenizer => LatentTokenizer.Value;
}
