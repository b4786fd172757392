namespace RecurrentDepth.Generation;

/// <summary>What shape a response must have; the engine compiles it into a token mask over the model's vocabulary.</summary>
public enum OutputConstraintKind
{
    /// <summary>Any JSON value.</summary>
    Json,

    /// <summary>JSON valid against <see cref="OutputConstraint.Schema"/> (the subset OpenAI strict structured outputs accept).</summary>
    JsonSchema,

    /// <summary>Text matching the regular expression <see cref="OutputConstraint.Pattern"/> in full.</summary>
    Regex,

    /// <summary>
    /// Either free text (not starting with white space or <c>{</c>) or JSON valid against
    /// <see cref="OutputConstraint.Schema"/>: how a turn that may answer or call a tool is constrained.
    /// </summary>
    JsonSchemaOrText,
}

/// <summary>A constraint on the generated text, as data (validated and compiled by the engine at admission).</summary>
public sealed record OutputConstraint
{
    /// <summary>Which grammar.</summary>
    public required OutputConstraintKind Kind { get; init; }

    /// <summary>JSON Schema text, for <see cref="OutputConstraintKind.JsonSchema"/> and <see cref="OutputConstraintKind.JsonSchemaOrText"/>.</summary>
    public string? Schema { get; init; }

    /// <summary>Regular expression, for <see cref="OutputConstraintKind.Regex"/>.</summary>
    public string? Pattern { get; init; }
}
