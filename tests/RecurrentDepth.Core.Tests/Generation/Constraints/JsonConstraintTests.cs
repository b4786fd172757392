using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using RecurrentDepth.Generation;
using RecurrentDepth.Generation.Constraints;

namespace RecurrentDepth.Tests.Generation.Constraints;

public sealed class JsonConstraintTests
{
    private static void AssertValid(string schemaText, string output)
    {
        var schema = JsonSchema.FromText(schemaText);
        var result = schema.Evaluate(JsonNode.Parse(output), new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"Output {output} does not validate: {string.Join("; ", result.Details.Where(d => d.HasErrors).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")))}");
    }

    [Theory]
    [MemberData(nameof(TestSchemas.All), MemberType = typeof(TestSchemas))]
    public void Random_walks_under_a_schema_end_in_valid_json(string name, string schema)
    {
        var random = new Random(name.Length);
        for (int run = 0; run < 200; run++)
        {
            var constraint = ConstraintDriver.Create(OutputConstraintKind.JsonSchema, schema, budget: 120);
            var (text, tokens, ended) = ConstraintDriver.Sample(constraint, random, 120);
            Assert.True(ended || constraint.IsComplete, $"Run {run} of '{name}' did not finish within its budget: {text}");
            Assert.True(tokens <= 120);
            AssertValid(schema, text);
        }
    }

    [Fact]
    public void Random_walks_under_any_json_parse_and_stay_within_a_tight_budget()
    {
        var random = new Random(7);
        for (int run = 0; run < 300; run++)
        {
            int budget = 2 + run % 40;
            var constraint = ConstraintDriver.Create(OutputConstraintKind.Json, budget: budget);
            var (text, tokens, _) = ConstraintDriver.Sample(constraint, random, budget);
            Assert.True(tokens <= budget);
            using var document = JsonDocument.Parse(text); // throws when the output is not JSON
        }
    }

    [Fact]
    public void End_of_turn_is_allowed_exactly_when_the_value_is_complete()
    {
        var constraint = ConstraintDriver.Create(OutputConstraintKind.JsonSchema, """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}""");
        var words = new ulong[ConstraintDriver.Vocabulary.Words];
        foreach (var (prefix, complete) in new[] { ("{", false), ("\"a\"", false), (":", false), ("12", false), ("}", true) })
        {
            ConstraintDriver.Feed(constraint, prefix);
            Array.Clear(words);
            constraint.WriteAllowed(words);
            Assert.Equal(complete, ConstraintDriver.Allowed(words).Contains(ConstraintDriver.EndTurn));
            Assert.Equal(complete, constraint.IsComplete);
        }

        // Nothing may follow the closed object but the end of the turn.
        Assert.Equal([ConstraintDriver.EndTurn], ConstraintDriver.Allowed(words));
    }

    [Fact]
    public void A_top_level_number_may_end_or_continue()
    {
        var constraint = ConstraintDriver.Create(OutputConstraintKind.JsonSchema, """{"type":"integer"}""");
        ConstraintDriver.Feed(constraint, "4");
        var words = new ulong[ConstraintDriver.Vocabulary.Words];
        constraint.WriteAllowed(words);
        var allowed = ConstraintDriver.Allowed(words);
        Assert.Contains(ConstraintDriver.EndTurn, allowed);
        Assert.Contains((int)'7', allowed);
        Assert.DoesNotContain((int)'.', allowed);
        Assert.DoesNotContain((int)' ', allowed);
    }

    [Fact]
    public void Only_declared_keys_in_schema_order_are_allowed_and_required_ones_cannot_be_skipped()
    {
        var constraint = ConstraintDriver.Create(OutputConstraintKind.JsonSchema,
            """{"type":"object","properties":{"x":{"type":"null"},"y":{"type":"null"},"z":{"type":"null"}},"required":["y"]}""");
        ConstraintDriver.Feed(constraint, "{\"");
        var words = new ulong[ConstraintDriver.Vocabulary.Words];
        constraint.WriteAllowed(words);
        var allowed = ConstraintDriver.Allowed(words);
        Assert.Contains((int)'x', allowed);
        Assert.Contains((int)'y', allowed);
        Assert.DoesNotContain((int)'z', allowed); // z comes after the required y
        Assert.Throws<InvalidOperationException>(() => constraint.Accept('z'));
    }

    [Fact]
    public void An_accepted_token_that_the_mask_excludes_is_refused()
    {
        var constraint = ConstraintDriver.Create(OutputConstraintKind.Json);
        Assert.Throws<InvalidOperationException>(() => constraint.Accept(ConstraintDriver.EndTurn));
        Assert.Throws<InvalidOperationException>(() => constraint.Accept('}'));
    }

    [Fact]
    public void Text_or_call_allows_text_or_a_call_but_not_a_malformed_call()
    {
        const string call = """{"type":"object","properties":{"name":{"const":"add"},"arguments":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}},"required":["name","arguments"]}""";
        var text = ConstraintDriver.Create(OutputConstraintKind.JsonSchemaOrText, call);
        ConstraintDriver.Feed(text, "Hello {x");
        Assert.True(text.IsComplete);

        var tool = ConstraintDriver.Create(OutputConstraintKind.JsonSchemaOrText, call);
        ConstraintDriver.Feed(tool, "{\"name\":\"add\",\"arguments\":{\"a\":");
        Assert.False(tool.IsComplete);
        Assert.Throws<InvalidOperationException>(() => ConstraintDriver.Feed(tool, "\"x\""));

        var leading = ConstraintDriver.Create(OutputConstraintKind.JsonSchemaOrText, call);
        Assert.Throws<InvalidOperationException>(() => ConstraintDriver.Feed(leading, " hi"));
    }

    [Theory]
    [InlineData("""{"type":"string","pattern":"^a"}""", "'pattern'")]
    [InlineData("""{"type":"object","properties":{"n":{"type":"integer","minimum":3}}}""", "'minimum'")]
    [InlineData("""{"oneOf":[{"type":"string"},{"type":"null"}]}""", "'oneOf'")]
    [InlineData("""{"$defs":{"t":{"type":"object","properties":{"c":{"$ref":"#/$defs/t"}}}},"$ref":"#/$defs/t"}""", "recursive '$ref'")]
    [InlineData("""{"type":"array","minItems":3,"maxItems":2}""", "'minItems' 3 is greater than 'maxItems' 2")]
    [InlineData("""{"type":"string","enum":[1,2]}""", "no 'enum' value matches")]
    [InlineData("""{"type":"object","properties":{},"required":["a"]}""", "required property 'a' is not declared")]
    [InlineData("""{"type":"text"}""", "type 'text'")]
    [InlineData("""{"anyOf":[{"type":"string"}],"type":"object"}""", "'anyOf' next to 'type'")]
    [InlineData("{not json", "not valid JSON")]
    public void Unsupported_or_unsatisfiable_schemas_fail_at_creation_naming_the_feature(string schema, string feature)
    {
        var error = Assert.Throws<ArgumentException>(() => ConstraintDriver.Create(OutputConstraintKind.JsonSchema, schema));
        Assert.Contains(feature, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_schema_whose_shortest_value_exceeds_the_budget_fails_at_creation()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            ConstraintDriver.Create(OutputConstraintKind.JsonSchema, """{"type":"string","minLength":50}""", budget: 20));
        Assert.Contains("52 tokens", error.Message, StringComparison.Ordinal);
    }
}
