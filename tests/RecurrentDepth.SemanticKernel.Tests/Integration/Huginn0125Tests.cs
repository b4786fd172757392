using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using RecurrentDepth.Configuration;
using RecurrentDepth.Engine;
using K = RecurrentDepth.SemanticKernel.RecurrenceMetadataKeys;

namespace RecurrentDepth.SemanticKernel.Tests.Integration;

/// <summary>
/// Checks against the real huginn-0125 checkpoint, which cannot be downloaded on the project's build machines. They
/// run when the environment variable <c>RDSK_HUGINN_0125</c> names a local copy of the Hugging Face folder
/// (config.json, the four safetensors shards and their index, tokenizer.json, tokenizer_config.json), and report
/// "skipped" otherwise. Loading takes about 7 GB of memory in bf16 and minutes on a CPU.
/// </summary>
public sealed class Huginn0125Tests
{
    public const string PathVariable = "RDSK_HUGINN_0125";

    private static string RequireCheckpoint()
    {
        var path = Environment.GetEnvironmentVariable(PathVariable);
        Skip.If(string.IsNullOrWhiteSpace(path), $"{PathVariable} is not set: no local huginn-0125 checkpoint to test against.");
        Assert.True(Directory.Exists(path), $"{PathVariable} names '{path}', which does not exist.");
        return path!;
    }

    [SkippableFact]
    public void The_checkpoint_config_is_the_one_the_spec_describes()
    {
        var config = RavenConfig.Load(Path.Combine(RequireCheckpoint(), "config.json"));
        Assert.Equal((5280, 55, 96, 2, 4, 2, 17920, 65536), (config.NEmbd, config.NHeads, config.HeadDim, config.NLayersInPrelude,
            config.NLayersInRecurrentBlock, config.NLayersInCoda, config.IntermediateSize, config.VocabSize));
        Assert.Equal(72.66360849, config.EmbedScale, 1e-6);
    }

    [SkippableFact]
    public async Task The_real_model_loads_in_bf16_and_answers_with_latent_compute_figures()
    {
        var path = RequireCheckpoint();
        using var host = await RealModelHostTests.StartHostAsync(path, dtype: "bfloat16");
        await host.Services.GetRequiredService<ModelHost>().WhenLoaded;
        var client = host.Services.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync("What is the capital of France? Answer in one word.",
            new ChatOptions { MaxOutputTokens = 4, AdditionalProperties = new() { ["thinking_effort"] = "low" } });

        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        Assert.Equal(8, response.Usage!.AdditionalCounts![K.AppliedMaxSteps]);
        Assert.Equal(8000, response.Usage.AdditionalCounts[K.MeanStepsX1000]);
        await host.StopAsync();
    }
}
