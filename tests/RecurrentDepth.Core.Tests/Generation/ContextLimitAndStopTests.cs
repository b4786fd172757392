using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Generation;

/// <summary>How a sequence ends: stop tokens, the token budget, and the context limit (MaxContext or block_size).</summary>
public sealed class ContextLimitAndStopTests
{
    private static readonly int[] Prompt = [40, 41, 42, 43, 44, 45];

    [Fact]
    public void A_stop_token_ends_the_sequence_with_finish_reason_stop()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var options = new SequenceOptions { Prompt = Prompt, Depth = DepthPolicy.Fixed(4), MaxNewTokens = 12, Seed = 5 };
        int[] free;
        using (var decoder = new RecurrentDecoder(model))
        {
            var sequence = decoder.Add(options);
            decoder.RunToCompletion();
            Assert.Equal(FinishReason.Length, sequence.FinishReason);
            free = sequence.Generated.Select(g => g.TokenId).ToArray();
        }

        int stop = free[3];
        int firstHit = Array.IndexOf(free, stop);
        using (var decoder = new RecurrentDecoder(model))
        {
            var sequence = decoder.Add(options with { StopTokens = new HashSet<int> { stop } });
            decoder.RunToCompletion();

            Assert.Equal(FinishReason.Stop, sequence.FinishReason);
            Assert.Equal(free.Take(firstHit + 1), sequence.Generated.Select(g => g.TokenId));
            Assert.Equal(stop, sequence.Tokens[^1]);
            Assert.False(decoder.HasWork);
        }
    }

    [Fact]
    public void Generation_stops_with_finish_reason_length_at_max_context()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(new SequenceOptions { Prompt = Prompt, Depth = DepthPolicy.Fixed(2), MaxNewTokens = 100, MaxContext = 10 });
        decoder.RunToCompletion();

        Assert.Equal(FinishReason.Length, sequence.FinishReason);
        Assert.Equal(10, sequence.Tokens.Count);
        Assert.Equal(4, sequence.Generated.Count);
        Assert.True(sequence.Cache.Length <= 10);
    }

    [Fact]
    public void A_prompt_one_token_short_of_max_context_yields_exactly_one_token()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(new SequenceOptions { Prompt = Prompt, Depth = DepthPolicy.Fixed(2), MaxNewTokens = 100, MaxContext = Prompt.Length + 1 });
        decoder.RunToCompletion();

        Assert.Equal(FinishReason.Length, sequence.FinishReason);
        Assert.Single(sequence.Generated);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_prompt_at_or_over_max_context_is_rejected_naming_the_limit(int over)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var prompt = Enumerable.Range(0, 8 + over).ToArray();
        var ex = Assert.Throws<ArgumentException>(() => decoder.Add(new SequenceOptions { Prompt = prompt, MaxContext = 8 }));

        Assert.Equal("prompt", ex.ParamName);
        Assert.Contains("context limit is 8", ex.Message, StringComparison.Ordinal);
        Assert.Empty(decoder.Sequences);
    }

    [Fact]
    public void A_prompt_at_block_size_is_rejected_naming_the_limit()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        int blockSize = model.Config.BlockSize;
        var prompt = Enumerable.Range(0, blockSize).Select(i => i % 512).ToArray();

        var ex = Assert.Throws<ArgumentException>(() => decoder.Add(new SequenceOptions { Prompt = prompt }));
        Assert.Contains($"context limit is {blockSize}", ex.Message, StringComparison.Ordinal);

        // A MaxContext above block_size does not lift the model's limit.
        ex = Assert.Throws<ArgumentException>(() => decoder.Add(new SequenceOptions { Prompt = prompt, MaxContext = blockSize * 2 }));
        Assert.Contains($"context limit is {blockSize}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateContext_beyond_block_size_throws_naming_block_size()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var scope = NewDisposeScope();
        int blockSize = model.Config.BlockSize;
        using var last = arange(blockSize - 4, blockSize, ScalarType.Int64);
        _ = model.CreateContext(last);

        using var beyond = arange(blockSize - 2, blockSize + 2, ScalarType.Int64);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => model.CreateContext(beyond));
        Assert.Contains("block_size", ex.Message, StringComparison.Ordinal);
        Assert.Equal("positions", ex.ParamName);
    }
}
