using System.Text;
using System.Text.Json;

namespace RecurrentDepth.Generation.Constraints;

/// <summary>
/// Compiles a JSON Schema (the subset OpenAI's strict structured outputs accept) into a <see cref="GrammarNode"/>
/// tree. Supported: <c>type</c> (one or a list) object/array/string/number/integer/boolean/null, <c>properties</c>,
/// <c>required</c>, <c>additionalProperties</c>, <c>enum</c>, <c>const</c>, <c>anyOf</c>, <c>items</c>,
/// <c>minItems</c>/<c>maxItems</c>, <c>minLength</c>/<c>maxLength</c>, non-recursive <c>$ref</c> into the same
/// document, and the annotations (<c>title</c>, <c>description</c>, <c>format</c>, ...), which are ignored. Anything that
/// restricts values further fails with the keyword's name and place, as does a schema no value satisfies.
/// </summary>
internal sealed class JsonSchemaCompiler
{
    /// <summary>Nesting allowed inside a value the schema leaves open (any JSON).</summary>
    public const int AnyJsonDepth = 6;

    private const int MaxProperties = 64;

    private static readonly HashSet<string> Annotations =
    [
        "$schema", "$id", "$comment", "$defs", "definitions", "title", "description", "default", "examples",
        "deprecated", "readOnly", "writeOnly", "format", "additionalProperties", "contentEncoding", "contentMediaType",
    ];

    private static readonly HashSet<string> Unsupported =
    [
        "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems", "oneOf",
        "allOf", "not", "if", "then", "else", "patternProperties", "propertyNames", "minProperties", "maxProperties",
        "dependentRequired", "dependentSchemas", "dependencies", "prefixItems", "additionalItems", "contains",
        "minContains", "maxContains", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$anchor",
    ];

    private static readonly GrammarNode[] AnyByDepth = BuildAny();

    private readonly JsonElement _document;
    private readonly HashSet<string> _resolving = [];

    private JsonSchemaCompiler(JsonElement document) => _document = document;

    /// <summary>The grammar of any JSON value (objects and arrays nested at most <see cref="AnyJsonDepth"/> deep).</summary>
    public static GrammarNode AnyJson => AnyByDepth[AnyJsonDepth];

    /// <summary>Compiles <paramref name="schema"/>.</summary>
    /// <exception cref="ArgumentException">The text is not JSON, or the schema uses an unsupported feature or admits no value.</exception>
    public static GrammarNode Compile(string schema)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(schema);
        }
        catch (JsonException e)
        {
            throw Fail("#", $"the schema is not valid JSON ({e.Message})");
        }

        using (document)
        {
            return new JsonSchemaCompiler(document.RootElement.Clone()).Node(document.RootElement, "#");
        }
    }

    private static ArgumentException Fail(string path, string problem) =>
        new($"JSON Schema at {path}: {problem}.", "constraint");

    private GrammarNode Node(JsonElement schema, string path)
    {
        if (schema.ValueKind is JsonValueKind.True)
        {
            return AnyJson;
        }

        if (schema.ValueKind is JsonValueKind.False)
        {
            throw Fail(path, "the schema 'false' admits no value");
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, $"a schema must be an object or a boolean, found {schema.ValueKind}");
        }

        foreach (var keyword in schema.EnumerateObject())
        {
            if (Unsupported.Contains(keyword.Name))
            {
                throw Fail(path, $"the keyword '{keyword.Name}' is not supported by constrained decoding");
            }
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            return Reference(reference, path);
        }

        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            return AnyOf(schema, anyOf, path);
        }

        var types = Types(schema, path);
        if (schema.TryGetProperty("const", out var constant))
        {
            return Literals([constant], types, path, "const");
        }

        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array)
            {
                throw Fail(path, "'enum' must be an array");
            }

            return Literals([.. values.EnumerateArray()], types, path, "enum");
        }

        var branches = types.Select(type => Typed(schema, type, path)).ToList();
        return branches.Count == 1 ? branches[0] : new UnionNode(branches);
    }

    private GrammarNode Reference(JsonElement reference, string path)
    {
        string target = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : "";
        if (!target.StartsWith('#'))
        {
            throw Fail(path, $"'$ref' '{target}' is not supported: only references into the same schema ('#/...') are");
        }

        if (!_resolving.Add(target))
        {
            throw Fail(path, $"the recursive '$ref' '{target}' is not supported by constrained decoding");
        }

        var node = _document;
        foreach (var part in target[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = Uri.UnescapeDataString(part).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var child))
            {
                node = child;
            }
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(name, out int index) && index >= 0 && index < node.GetArrayLength())
            {
                node = node[index];
            }
            else
            {
                throw Fail(path, $"'$ref' '{target}' points at nothing");
            }
        }

        var compiled = Node(node, target);
        _resolving.Remove(target);
        return compiled;
    }

    private GrammarNode AnyOf(JsonElement schema, JsonElement anyOf, string path)
    {
        foreach (var keyword in schema.EnumerateObject())
        {
            if (keyword.Name != "anyOf" && !Annotations.Contains(keyword.Name))
            {
                throw Fail(path, $"'anyOf' next to '{keyword.Name}' is not supported: put the keyword inside each branch");
            }
        }

        if (anyOf.ValueKind != JsonValueKind.Array || anyOf.GetArrayLength() == 0)
        {
            throw Fail(path, "'anyOf' must be a non-empty array");
        }

        var branches = anyOf.EnumerateArray().Select((branch, k) => Node(branch, $"{path}/anyOf/{k}")).ToList();
        return branches.Count == 1 ? branches[0] : new UnionNode(branches);
    }

    private static List<string> Types(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            // No type: infer it from the keywords present, else any value.
            return schema.TryGetProperty("properties", out _) || schema.TryGetProperty("required", out _) ? ["object"]
                : schema.TryGetProperty("items", out _) || schema.TryGetProperty("minItems", out _) || schema.TryGetProperty("maxItems", out _) ? ["array"]
                : schema.TryGetProperty("minLength", out _) || schema.TryGetProperty("maxLength", out _) ? ["string"]
                : ["any"];
        }

        var names = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()).ToList() : [type.GetString()];
        foreach (var name in names)
        {
            if (name is not ("object" or "array" or "string" or "number" or "integer" or "boolean" or "null"))
            {
                throw Fail(path, $"the type '{name}' is not a JSON Schema type");
            }
        }

        if (names.Count == 0)
        {
            throw Fail(path, "'type' is an empty list, which admits no value");
        }

        return names.Distinct().ToList()!;
    }

    private GrammarNode Typed(JsonElement schema, string type, string path) => type switch
    {
        "object" => Object(schema, path),
        "array" => Array(schema, path),
        "string" => String(schema, path),
        "number" => new NumberNode(integer: false),
        "integer" => new NumberNode(integer: true),
        "boolean" => new LiteralNode([Encoding.UTF8.GetBytes("true"), Encoding.UTF8.GetBytes("false")]),
        "null" => new LiteralNode([Encoding.UTF8.GetBytes("null")]),
        _ => AnyJson,
    };

    private GrammarNode Object(JsonElement schema, string path)
    {
        var required = new HashSet<string>();
        if (schema.TryGetProperty("required", out var list))
        {
            foreach (var name in list.EnumerateArray())
            {
                required.Add(name.GetString() ?? throw Fail(path, "'required' must list property names"));
            }
        }

        bool closed = schema.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind == JsonValueKind.False;
        if (!schema.TryGetProperty("properties", out var properties))
        {
            if (required.Count > 0)
            {
                throw Fail(path, $"the required property '{required.First()}' is not declared in 'properties'");
            }

            // An open object without declared properties is any object; a closed one is only {}.
            return closed ? new ObjectNode([]) : new FreeObjectNode(AnyByDepth[AnyJsonDepth - 1], new StringNode(0, int.MaxValue));
        }

        var members = new List<(byte[], GrammarNode, bool)>();
        foreach (var property in properties.EnumerateObject())
        {
            members.Add((JsonSerializer.SerializeToUtf8Bytes(property.Name), Node(property.Value, $"{path}/properties/{property.Name}"), required.Remove(property.Name)));
        }

        if (required.Count > 0)
        {
            throw Fail(path, $"the required property '{required.First()}' is not declared in 'properties'");
        }

        if (members.Count > MaxProperties)
        {
            throw Fail(path, $"{members.Count} properties; constrained decoding supports at most {MaxProperties} per object");
        }

        return new ObjectNode(members);
    }

    private GrammarNode Array(JsonElement schema, string path)
    {
        var items = schema.TryGetProperty("items", out var itemSchema) ? Node(itemSchema, $"{path}/items") : AnyByDepth[AnyJsonDepth - 1];
        int min = Count(schema, "minItems", 0, path), max = Count(schema, "maxItems", int.MaxValue, path);
        if (min > max)
        {
            throw Fail(path, $"'minItems' {min} is greater than 'maxItems' {max}, which admits no array");
        }

        return new ArrayNode(items, min, max);
    }

    private static GrammarNode String(JsonElement schema, string path)
    {
        int min = Count(schema, "minLength", 0, path), max = Count(schema, "maxLength", int.MaxValue, path);
        if (min > max)
        {
            throw Fail(path, $"'minLength' {min} is greater than 'maxLength' {max}, which admits no string");
        }

        return new StringNode(min, max);
    }

    private static int Count(JsonElement schema, string keyword, int fallback, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return fallback;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n >= 0
            ? n
            : throw Fail(path, $"'{keyword}' must be a non-negative integer");
    }

    private static GrammarNode Literals(IReadOnlyList<JsonElement> values, List<string> types, string path, string keyword)
    {
        var kept = values.Where(v => types.Contains("any") || types.Any(t => Matches(v, t))).Select(Compact).Distinct(ByteArrayComparer.Instance).ToList();
        if (kept.Count == 0)
        {
            throw Fail(path, $"no '{keyword}' value matches the schema's type, so no value is valid");
        }

        if (kept.Count > 64)
        {
            throw Fail(path, $"'{keyword}' has {kept.Count} values; constrained decoding supports at most 64");
        }

        return new LiteralNode(kept);
    }

    private static bool Matches(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out decimal d) && d == Math.Floor(d),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        _ => value.ValueKind == JsonValueKind.Null,
    };

    private static byte[] Compact(JsonElement value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            value.WriteTo(writer);
        }

        return stream.ToArray();
    }

    private static GrammarNode[] BuildAny()
    {
        var scalars = new GrammarNode[]
        {
            new StringNode(0, int.MaxValue),
            new NumberNode(integer: false),
            new LiteralNode([Encoding.UTF8.GetBytes("true"), Encoding.UTF8.GetBytes("false"), Encoding.UTF8.GetBytes("null")]),
        };
        var byDepth = new GrammarNode[AnyJsonDepth + 1];
        byDepth[0] = new UnionNode(scalars);
        for (int d = 1; d <= AnyJsonDepth; d++)
        {
            var inner = byDepth[d - 1];
            byDepth[d] = new UnionNode([new FreeObjectNode(inner, new StringNode(0, int.MaxValue)), new ArrayNode(inner, 0, int.MaxValue), .. scalars]);
        }

        return byDepth;
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}
