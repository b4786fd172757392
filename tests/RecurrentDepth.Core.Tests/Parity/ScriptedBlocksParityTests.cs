using RecurrentDepth.Checkpoints;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Parity;

/// <summary>
/// The TorchScript core step against the reference: the forward passes of the tiny fixture's golden files (stored s0,
/// 1, 4 and 32 steps) with every recurrence run by <see cref="ScriptedBlocks"/>, logits at the eager parity
/// tolerance (<see cref="ForwardParityTests.Atol"/>); and per-row positions against the eager step.
/// </summary>
public sealed class ScriptedBlocksParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("golden.safetensors", "model.safetensors")]
    [InlineData("golden_perturbed.safetensors", "model_perturbed.safetensors")]
    public void Scripted_recurrence_matches_the_reference_logits(string goldenFile, string weightsFile)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny, Path.Combine(FixtureCatalog.Tiny, weightsFile));
        model.UseTorchScript = false; // only the explicit scripted step below recurs
        using var scripted = ScriptedBlocks.Compile(model);
        using var golden = SafetensorsFile.Open(Path.Combine(FixtureCatalog.Tiny, goldenFile));
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var ids = golden.Read("input_ids");
        var s0 = golden.Read("fwd.s0");
        foreach (int steps in new[] { 1, 4, 32 })
        {
            var context = model.CreateContext(arange(ids.shape[1], ScalarType.Int64));
            var embedded = model.RunPrelude(model.Embed(ids), context);
            var state = s0;
            for (int i = 0; i < steps; i++)
            {
                state = scripted.Iterate(state, embedded, i, context);
            }

            var logits = model.Readout(model.NormalizeLatent(state), context);
            double error = TensorAssert.MaxAbsError(golden.Read($"fwd.n{steps}.logits"), logits, $"fwd.n{steps}.logits");
            output.WriteLine($"{goldenFile} n{steps}: scripted max abs logit error {error:G3}");
            Assert.True(error <= ForwardParityTests.Atol, $"{goldenFile} fwd.n{steps}.logits: scripted core step error {error:G3} exceeds {ForwardParityTests.Atol}");
        }
    }

    [Fact]
    public void Scripted_step_gives_the_same_bits_on_its_first_call_and_once_its_graph_is_optimised()
    {
        // libtorch's executor profiles a script's first calls and then runs an optimised graph; generation must not
        // depend on how often the script ran before (batch == alone, cached == uncached).
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var scripted = ScriptedBlocks.Compile(model);
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var (context, embedded, s0) = FourTokenStepInputs(model, seed: 9);
        var first = scripted.Iterate(s0, embedded, 0, context);
        for (int i = 0; i < 20; i++)
        {
            scripted.Iterate(s0, embedded, 0, context);
        }

        Assert.True(TensorAssert.Identical(first, scripted.Iterate(s0, embedded, 0, context)));
    }

    [Fact]
    public void The_model_runs_the_scripted_step_in_fp32_only()
    {
        using var fp32 = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var bf16 = FixtureCatalog.LoadModel(FixtureCatalog.Tiny, dtype: ScalarType.BFloat16);
        Assert.True(fp32.UseTorchScript);
        Assert.False(bf16.UseTorchScript);
        var ex = Assert.Throws<NotSupportedException>(() => bf16.UseTorchScript = true);
        Assert.Contains("BFloat16", ex.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => ScriptedBlocks.Compile(bf16));
    }

    [Fact]
    public void Scripted_step_with_per_row_positions_matches_the_eager_step()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        model.UseTorchScript = false; // model.Iterate is the eager step here
        using var scripted = ScriptedBlocks.Compile(model);
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        // Two rows at different absolute positions (as batched decoding has), so each row gets its own rotation.
        var ids = tensor(new long[] { 3, 99, 400, 12, 7, 250 }, [2, 3]);
        var positions = tensor(new long[] { 0, 1, 2, 40, 41, 42 }, [2, 3]);
        var context = model.CreateContext(positions);
        var embedded = model.RunPrelude(model.Embed(ids), context);
        using var generator = new Generator(5, CPU);
        Tensor eager = model.SampleInitialState(embedded, 1.0, generator), script = eager;
        for (int i = 0; i < 8; i++)
        {
            eager = model.Iterate(eager, embedded, i, context);
            script = scripted.Iterate(script, embedded, i, context);
        }

        double error = TensorAssert.MaxAbsError(eager, script, "state after 8 steps");
        output.WriteLine($"max abs state difference after 8 steps: {error:G3}");
        Assert.True(error <= 1e-5, $"scripted and eager core steps differ by {error:G3}");
    }

    [Fact]
    public void Switching_the_scripts_back_on_uses_the_weights_as_they_are_then()
    {
        // The scripts keep each block's fused Q/K/V bias; weights changed while they were off (training runs eager)
        // must not leave them on the old bias.
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        var (context, embedded, s0) = FourTokenStepInputs(model, seed: 11);
        _ = model.Iterate(s0, embedded, 0, context); // the scripts are built now, from the loaded bias

        model.UseTorchScript = false;
        model.ParametersByKey()["transformer.core_block.0.attn.qk_bias"].add_(0.5);
        var eager = model.Iterate(s0, embedded, 0, context);
        model.UseTorchScript = true;
        var scripted = model.Iterate(s0, embedded, 0, context);

        double error = TensorAssert.MaxAbsError(eager, scripted, "state after one step with a changed qk_bias");
        Assert.True(error <= 1e-5, $"the scripted step differs from the eager one by {error:G3} after the bias changed");
    }

    // A four-token prompt's attention context, prelude output and a seeded s0 (in the caller's dispose scope).
    private static (AttentionContext Context, Tensor Embedded, Tensor S0) FourTokenStepInputs(RavenModel model, ulong seed)
    {
        var ids = tensor(new long[] { 3, 99, 400, 12 }, [1, 4]);
        var context = model.CreateContext(arange(4, ScalarType.Int64));
        var embedded = model.RunPrelude(model.Embed(ids), context);
        using var generator = new Generator(seed, CPU);
        return (context, embedded, model.SampleInitialState(embedded, 1.0, generator));
    }
}
