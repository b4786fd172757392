using RecurrentDepth.Caching;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;

namespace RecurrentDepth.Tests.Generation;

/// <summary>Invalid settings are rejected once, up front, with an <see cref="ArgumentException"/> that names them.</summary>
public sealed class PolicyValidationTests
{
    public static TheoryData<string, string, Func<object>> InvalidSettings() => new()
    {
        { "max_steps", "max_steps", () => DepthPolicy.Fixed(0) },
        { "max_steps", "max_steps", () => new DepthPolicy { MaxSteps = -3 }.Validate() },
        { "min_steps", "min_steps", () => new DepthPolicy { MaxSteps = 4, MinSteps = 5 }.Validate() },
        { "min_steps", "min_steps", () => new DepthPolicy { MinSteps = -1 }.Validate() },
        { "exit_threshold", "exit_threshold", () => new DepthPolicy { Criterion = ExitCriterion.Kl, Threshold = -1e-4 }.Validate() },
        { "exit_threshold", "exit_threshold", () => new DepthPolicy { Criterion = ExitCriterion.Kl, Threshold = double.NaN }.Validate() },
        { "check_every", "check_every", () => new DepthPolicy { CheckEvery = 0 }.Validate() },
        { "init_scale", "init_scale", () => new DepthPolicy { InitScale = -1 }.Validate() },
        { "top_p", "top_p", () => new SamplingOptions { Temperature = 1, TopP = 0 }.Validate() },
        { "top_p", "top_p", () => new SamplingOptions { Temperature = 1, TopP = 1.01 }.Validate() },
        { "top_p", "top_p", () => new SamplingOptions { Temperature = 1, TopP = double.NaN }.Validate() },
        { "temperature", "temperature", () => new SamplingOptions { Temperature = -0.1 }.Validate() },
        { "repetition_penalty", "repetition_penalty", () => new SamplingOptions { RepetitionPenalty = 0 }.Validate() },
        { "repetition_penalty", "repetition_penalty", () => new SamplingOptions { RepetitionPenalty = -1.2 }.Validate() },
        { "top_k", "top_k", () => new SamplingOptions { TopK = -1 }.Validate() },
        { "min_p", "min_p", () => new SamplingOptions { MinP = 1.5 }.Validate() },
        { "exit_criterion", "'kl-divergence-ish'", () => ExitCriteria.Parse("kl-divergence-ish") },
        { "exit_criterion", "''", () => ExitCriteria.Parse("") },
        { "cache_strategy", "'latest-m8'", () => CacheStrategy.Parse("latest-m8") },
        { "cache_strategy", "'compress-s0'", () => CacheStrategy.Parse("compress-s0") },
        { "cache_strategy", "'compress-s99999999999'", () => CacheStrategy.Parse("compress-s99999999999") },
        { "cache_strategy", "'latest-m4-'", () => CacheStrategy.Parse("latest-m4-") },
        { "cache_strategy", "'full-'", () => CacheStrategy.Parse("full-") },
        { "cache_strategy", "'latest-m4-compress-x4'", () => CacheStrategy.Parse("latest-m4-compress-x4") },
        { "max_tokens", "max_tokens", () => new SequenceOptions { Prompt = [1], MaxNewTokens = 0 }.Validate() },
        { "prompt", "prompt", () => new SequenceOptions { Prompt = [] }.Validate() },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void An_invalid_setting_throws_an_argument_exception_naming_it(string setting, string messageNames, Func<object> build)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(build);
        Assert.Equal(setting, ex.ParamName);
        Assert.Contains(messageNames, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_decoder_validates_a_sequence_before_admitting_it()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var ex = Assert.ThrowsAny<ArgumentException>(() => decoder.Add(new SequenceOptions
        {
            Prompt = [1, 2, 3],
            Depth = new DepthPolicy { MaxSteps = 8, MinSteps = 9 },
        }));
        Assert.Equal("min_steps", ex.ParamName);

        ex = Assert.ThrowsAny<ArgumentException>(() => decoder.Add(new SequenceOptions
        {
            Prompt = [1, 2, 3],
            Sampling = new SamplingOptions { Temperature = 0.7, TopP = 0 },
        }));
        Assert.Equal("top_p", ex.ParamName);

        ex = Assert.ThrowsAny<ArgumentException>(() => decoder.Add(new SequenceOptions { Prompt = [1, 512] }));
        Assert.Equal("prompt", ex.ParamName);
        Assert.Empty(decoder.Sequences);
    }
}
