using RecurrentDepth.Generation;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Generation;

public sealed class ExitDivergenceTests
{
    [Fact]
    public void Kl_is_that_of_the_previous_distribution_to_the_current_one_per_row()
    {
        using var scope = NewDisposeScope();
        // Row 0: KL([.5 .5] ‖ [.9 .1]) = .5 ln(.5/.9) + .5 ln(.5/.1) = 0.5108256; row 1: identical distributions, 0.
        var previous = tensor(new[] { 0.5, 0.5, 0.2, 0.8 }, [2, 2]).log();
        var current = tensor(new[] { 0.9, 0.1, 0.2, 0.8 }, [2, 2]).log();
        var kl = ExitDivergence.Kl(previous, current, vocabSize: 2).data<double>().ToArray();
        Assert.Equal(0.5108256237659907, kl[0], 12);
        Assert.Equal(0.0, kl[1], 12);
    }

    [Fact]
    public void Before_the_first_step_the_previous_distribution_is_uniform_over_the_vocabulary()
    {
        using var scope = NewDisposeScope();
        // KL(uniform over 4 ‖ [.7 .1 .1 .1]) = .25 (ln(.25/.7) + 3 ln(.25/.1)) = 0.4298132.
        var current = tensor(new[] { 0.7, 0.1, 0.1, 0.1 }).log();
        Assert.Equal(0.4298131946103268, ExitDivergence.Kl(null, current, vocabSize: 4).item<double>(), 12);
    }
}
