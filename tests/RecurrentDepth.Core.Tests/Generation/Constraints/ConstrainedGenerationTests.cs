using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using RecurrentDepth.Engine;
using RecurrentDepth.Generation;
using RecurrentDepth.Tests.TestSupport;
using RecurrentDepth.Tokenization;

namespace RecurrentDepth.Tests.Generation.Constraints;

/// <summary>
/// Constrained decoding on the real engine and the random-weight fixture model: whatever the weights prefer, every
/// output must parse and validate (checked by JsonSchema.Net, not by the code under test).
/// </summary>
public sealed class ConstrainedGenerationTests
{
    private const int MaxTokens = 96;

    private static InferenceEngine Engine() => InferenceEngine.Load(new EngineOptions
    {
        ModelPath = FixtureCatalog.Tiny,
        Device = "cpu",
        DType = "float32",
        MaxBatch = 100,
        MaxQueue = 256,
    });

    private static GenerationRequest Request(OutputConstraint constraint, long seed, double temperature) => new()
    {
        Messages = [new ChatTurn("user", "Reply in JSON.")],
        Depth = new DepthPolicy { MaxSteps = 1 },
        Sampling = new SamplingOptions { Temperature = temperature },
        MaxNewTokens = MaxTokens,
        Seed = seed,
        Constraint = constraint,
    };

    private static async Task<(string Text, GenerationSummary Summary)> Run(IInferenceEngine engine, GenerationRequest request)
    {
        var text = new StringBuilder();
        GenerationSummary? summary = null;
        await foreach (var update in engine.GenerateAsync(request))
        {
            text.Append(update.TextDelta);
            summary ??= update.Summary;
        }

        return (text.ToString(), summary!);
    }

    [Theory]
    [MemberData(nameof(TestSchemas.All), MemberType = typeof(TestSchemas))]
    public async Task One_hundred_seeded_sampled_generations_validate_against_their_schema(string name, string schemaText)
    {
        using var engine = Engine();
        var constraint = new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = schemaText };
        var runs = await Task.WhenAll(Enumerable.Range(0, 100).Select(seed => Run(engine, Request(constraint, seed, temperature: 1.0))));

        var schema = JsonSchema.FromText(schemaText);
        foreach (var (text, summary) in runs)
        {
            Assert.True(summary.OutputTokens <= MaxTokens);
            var result = schema.Evaluate(JsonNode.Parse(text), new EvaluationOptions { OutputFormat = OutputFormat.List });
            Assert.True(result.IsValid, $"'{name}': {text} does not validate.");
        }

        // The weights are random, so the outputs differ: the mask shapes them, it does not pick them.
        Assert.True(runs.Select(r => r.Text).Distinct().Count() > 50, $"'{name}': too few distinct outputs.");
    }

    [Fact]
    public async Task Greedy_and_sampled_generations_under_json_mode_always_parse()
    {
        using var engine = Engine();
        var constraint = new OutputConstraint { Kind = OutputConstraintKind.Json };
        var requests = Enumerable.Range(0, 20).Select(seed => Request(constraint, seed, temperature: seed < 2 ? 0 : 0.9));
        foreach (var (text, _) in await Task.WhenAll(requests.Select(r => Run(engine, r))))
        {
            using var document = JsonDocument.Parse(text);
        }
    }

    [Fact]
    public async Task A_request_with_an_unsupported_schema_fails_at_submission_and_others_still_run()
    {
        using var engine = Engine();
        var bad = Request(new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = """{"type":"string","format":"email","pattern":"@"}""" }, 1, 0);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Run(engine, bad));
        Assert.Contains("'pattern'", error.Message, StringComparison.Ordinal);

        var (text, _) = await Run(engine, Request(new OutputConstraint { Kind = OutputConstraintKind.Regex, Pattern = "[0-9]{3}" }, 1, 0.8));
        Assert.Matches("^[0-9]{3}$", text);
    }
}
