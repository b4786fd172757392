using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Generation.Constraints;
using RecurrentDepth.Modeling;
using RecurrentDepth.Tests.TestSupport;
using static TorchSharp.torch;

namespace RecurrentDepth.Tests.Generation;

/// <summary>
/// The batched step: one device-to-host read per step for a batch of 8, per-row failure on non-finite logits,
/// exit values on every token, and constrained rows masked in the same batch as free ones.
/// </summary>
public sealed class BatchedStepTests
{
    private static readonly SamplingOptions Nucleus = new SamplingOptions { Temperature = 0.9, TopP = 0.95 }.Validate();

    private static SequenceOptions Options(int promptLength, long seed, DepthPolicy depth, int maxNew, SamplingOptions? sampling = null) => new()
    {
        Prompt = Enumerable.Range(0, promptLength).Select(i => (int)((seed * 131 + i * 37) % 512)).ToArray(),
        Depth = depth,
        Sampling = sampling ?? SamplingOptions.Greedy,
        MaxNewTokens = maxNew,
        Seed = seed,
    };

    private static readonly DepthPolicy Kl = new DepthPolicy { MaxSteps = 16, Criterion = ExitCriterion.Kl, Threshold = 5e-4 }.Validate();

    private static SequenceOptions[] EightRows() =>
    [
        Options(5, 1, DepthPolicy.Fixed(4), 10),
        Options(6, 2, Kl, 10),
        Options(7, 3, DepthPolicy.Fixed(8), 10, Nucleus),
        Options(8, 4, Kl with { Criterion = ExitCriterion.LatentDiff, Threshold = 0.05 }, 10),
        Options(9, 5, DepthPolicy.Fixed(2), 10, Nucleus),
        Options(4, 6, Kl, 10, Nucleus),
        Options(3, 7, Kl with { Criterion = ExitCriterion.EntropyDiff, Threshold = 1e-3 }, 10),
        Options(6, 8, DepthPolicy.Fixed(6), 10),
    ];

    [Fact]
    public void A_batch_of_eight_reads_the_device_at_most_once_per_step()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var rows = EightRows().Select(decoder.Add).ToList();
        decoder.RunToCompletion();

        Assert.All(rows, r => Assert.Null(r.Error));
        Assert.All(rows, r => Assert.Equal(10, r.Generated.Count));
        Assert.True(decoder.Steps > 0);
        Assert.True(decoder.HostReads <= decoder.Steps, $"{decoder.HostReads} host reads in {decoder.Steps} steps");
        // Reads are per step, not per row: far fewer than the rows' checks and samples together.
        long rowChecks = rows.Sum(r => r.ExitValues.Sum(v => (long)v.Count)) + rows.Sum(r => r.Generated.Count);
        Assert.True(decoder.HostReads < rowChecks / 2, $"{decoder.HostReads} reads for {rowChecks} row checks and samples");
    }

    [Fact]
    public void Every_token_reports_its_exit_value()
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        using var decoder = new RecurrentDecoder(model);
        var rows = EightRows().Select(decoder.Add).ToList();
        var unmeasured = decoder.Add(Options(5, 1, DepthPolicy.Fixed(4), 4) with { MeasureConvergence = false });
        decoder.RunToCompletion();

        foreach (var row in rows)
        {
            for (int t = 0; t < row.Generated.Count; t++)
            {
                var token = row.Generated[t];
                Assert.NotNull(token.ExitValue);
                Assert.True(double.IsFinite(token.ExitValue!.Value) && token.ExitValue >= 0, $"exit value {token.ExitValue}");
                if (row.Options.Depth.Criterion != ExitCriterion.None)
                {
                    // The criterion's value at the token's last check is what the token reports.
                    Assert.Equal(row.ExitValues[t][^1], token.ExitValue!.Value);
                }
            }
        }

        Assert.All(unmeasured.Generated, g => Assert.Null(g.ExitValue));
        // Measuring convergence reads out one more step but never changes the tokens.
        Assert.Equal(rows[0].Tokens.Take(unmeasured.Tokens.Count), unmeasured.Tokens);
    }

    [Theory]
    [InlineData(2, false)] // a KL-exit row's readout
    [InlineData(0, true)] // the second-to-last readout of a fixed-depth row measuring its convergence
    public void Non_finite_logits_fail_that_row_alone(int poisonedRow, bool prior)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        var workload = EightRows();
        var alone = workload.Select(o => RunAlone(model, o)).ToList();

        using var decoder = new RecurrentDecoder(model);
        var rows = workload.Select(decoder.Add).ToList();
        var poisoned = rows[poisonedRow];
        Action<IReadOnlyList<DecodeSequence>, Tensor> poison = (chosen, logits) =>
        {
            int at = chosen.ToList().IndexOf(poisoned);
            if (at >= 0 && poisoned.Generated.Count == 3)
            {
                logits[at, 7] = tensor(float.NaN);
            }
        };
        if (prior)
        {
            decoder.AfterPriorReadout = poison;
        }
        else
        {
            decoder.AfterReadout = poison;
        }

        decoder.RunToCompletion();

        var error = Assert.IsType<InvalidOperationException>(poisoned.Error);
        Assert.Contains("non-finite logits at token 3", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, poisoned.Generated.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            if (i != poisonedRow)
            {
                Assert.Null(rows[i].Error);
                Assert.Equal(alone[i], rows[i].Tokens.ToArray());
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Constrained_rows_only_produce_allowed_tokens_in_a_batch_with_free_rows(bool sampled)
    {
        using var model = FixtureCatalog.LoadModel(FixtureCatalog.Tiny);
        int[] allowed = [3, 17, 42, 99, 200];
        var sampling = sampled ? Nucleus : SamplingOptions.Greedy;
        var workload = EightRows();
        var free = workload.Select(o => RunAlone(model, o)).ToList();

        using var decoder = new RecurrentDecoder(model);
        var rows = workload.Select(decoder.Add).ToList();
        var constraints = new List<SetConstraint>();
        var constrained = new List<DecodeSequence>();
        foreach (var depth in new[] { DepthPolicy.Fixed(4), Kl })
        {
            var constraint = new SetConstraint(allowed);
            constraints.Add(constraint);
            constrained.Add(decoder.Add(Options(6, 40 + constraints.Count, depth, 12, sampling) with { Constraint = constraint }));
        }

        decoder.RunToCompletion();

        foreach (var row in constrained)
        {
            Assert.Null(row.Error);
            Assert.Equal(12, row.Generated.Count);
            Assert.All(row.Generated, g => Assert.Contains(g.TokenId, allowed));
        }

        Assert.All(constraints, c => Assert.Equal(12, c.Accepted.Count));
        Assert.Equal(constrained[0].Generated.Select(g => g.TokenId), constraints[0].Accepted);
        // The unconstrained rows of the batch are untouched by their neighbours' masks.
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(free[i], rows[i].Tokens.ToArray());
        }
    }

    private static int[] RunAlone(RavenModel model, SequenceOptions options)
    {
        using var decoder = new RecurrentDecoder(model);
        var sequence = decoder.Add(options);
        decoder.RunToCompletion();
        Assert.Null(sequence.Error);
        return [.. sequence.Tokens];
    }

    // Allows a fixed set of ids; records what it accepted and refuses anything else.
    private sealed class SetConstraint(int[] allowed) : ITokenConstraint
    {
        public List<int> Accepted { get; } = [];

        public bool IsComplete => true;

        public void WriteAllowed(Span<ulong> words)
        {
            foreach (int id in allowed)
            {
                words[id / 64] |= 1UL << (id % 64);
            }
        }

        public void Accept(int tokenId)
        {
            if (!allowed.Contains(tokenId))
            {
                throw new InvalidOperationException($"token {tokenId} was not allowed");
            }

            Accepted.Add(tokenId);
        }
    }
}
