using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Modeling;

/// <summary>The shared recurrence loop: split runs (the trainer's truncated backprop) equal one run, and the observer sees every step.</summary>
public sealed class RecurTests
{
    [Fact]
    public void Two_split_runs_equal_one_run_and_the_observer_sees_every_recurrence_index()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var ids = tensor(new long[] { 5, 17, 300, 42, 7 }, [1, 5]);
        var context = model.CreateContext(arange(5, ScalarType.Int64));
        var embedded = model.RunPrelude(model.Embed(ids), context);
        using var generator = new Generator(3, CPU);
        var s0 = model.SampleInitialState(embedded, 1.0, generator);

        var seen = new List<int>();
        var whole = model.Recur(s0, embedded, context, 5, afterStep: (i, _) => seen.Add(i));
        var split = model.Recur(model.Recur(s0, embedded, context, 3), embedded, context, 2, firstRecurrence: 3);

        Assert.Equal([0, 1, 2, 3, 4], seen);
        Assert.True(TensorAssert.Identical(whole, split));
        Assert.False(TensorAssert.Identical(whole, model.Recur(s0, embedded, context, 4)));
        Assert.Same(s0, model.Recur(s0, embedded, context, 0));
    }
}
