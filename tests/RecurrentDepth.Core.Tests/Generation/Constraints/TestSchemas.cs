namespace RecurrentDepth.Tests.Generation.Constraints;

/// <summary>The five schemas the constrained-decoding tests sample under (bounded so outputs stay short).</summary>
internal static class TestSchemas
{
    public const string NestedObjects = """
        {"type":"object","properties":{
          "name":{"type":"string","maxLength":6},
          "owner":{"type":"object","properties":{
              "id":{"type":"integer"},
              "tags":{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"null"}},"required":["a"],"additionalProperties":false}},
            "required":["id","tags"],"additionalProperties":false},
          "note":{"type":"string","maxLength":4}},
         "required":["name","owner"],"additionalProperties":false}
        """;

    public const string Arrays = """
        {"type":"object","properties":{
          "points":{"type":"array","items":{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":2},"minItems":1,"maxItems":3},
          "words":{"type":"array","items":{"type":"string","minLength":1,"maxLength":3},"maxItems":4}},
         "required":["points","words"],"additionalProperties":false}
        """;

    public const string Enums = """
        {"type":"object","properties":{
          "color":{"enum":["red","green","blue","réd"]},
          "size":{"type":"integer","enum":[1,2,12]},
          "mode":{"const":"fast"},
          "flag":{"enum":[true,null,"x"]}},
         "required":["color","size","mode","flag"],"additionalProperties":false}
        """;

    public const string Numbers = """
        {"type":"object","properties":{
          "x":{"type":"number"},"y":{"type":"number"},"n":{"type":"integer"},
          "list":{"type":"array","items":{"type":"number"},"maxItems":3}},
         "required":["x","y","n","list"],"additionalProperties":false}
        """;

    public const string AnyOf = """
        {"$defs":{"circle":{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},"required":["kind","r"],"additionalProperties":false}},
         "type":"object","properties":{
          "shape":{"anyOf":[
              {"$ref":"#/$defs/circle"},
              {"type":"object","properties":{"kind":{"const":"rect"},"w":{"type":"integer"},"h":{"type":"integer"}},"required":["kind","w","h"],"additionalProperties":false},
              {"type":"null"}]},
          "label":{"type":["string","null"],"maxLength":5}},
         "required":["shape","label"],"additionalProperties":false}
        """;

    public static TheoryData<string, string> All => new()
    {
        { "nested objects", NestedObjects },
        { "arrays", Arrays },
        { "enums", Enums },
        { "numbers", Numbers },
        { "anyOf", AnyOf },
    };
}
