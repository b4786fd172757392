using System.Text.RegularExpressions;
using RecurrentDepth.Generation;

namespace RecurrentDepth.Tests.Generation.Constraints;

public sealed class RegexConstraintTests
{
    [Theory]
    [InlineData(@"^\d{3}-[A-Z]{2}(x|yz)?$")]
    [InlineData(@"(?:yes|no|maybe)")]
    [InlineData(@"[a-c]+\.[^a-z\n]{1,3}")]
    [InlineData(@"é+.?")]
    [InlineData(@"\w+@\w+\.(com|org)")]
    public void Random_walks_match_the_pattern_in_full(string pattern)
    {
        var random = new Random(pattern.Length);
        var reference = new Regex($"^(?:{pattern.TrimStart('^').TrimEnd('$')})$");
        for (int run = 0; run < 100; run++)
        {
            var constraint = ConstraintDriver.Create(OutputConstraintKind.Regex, pattern: pattern, budget: 40);
            var (text, _, _) = ConstraintDriver.Sample(constraint, random, 40);
            Assert.True(constraint.IsComplete);
            // The constraint counts code points; .NET's Regex counts UTF-16 units, so stand a BMP character in for each astral one.
            Assert.Matches(reference, Regex.Replace(text, @"[\uD800-\uDBFF][\uDC00-\uDFFF]", "\uE000"));
        }
    }

    [Theory]
    [InlineData(@"(a)\1", "back-references")]
    [InlineData(@"(?=a)b", "look-around")]
    [InlineData(@"\bword", "word boundaries")]
    [InlineData(@"[é-ü]", "non-ASCII characters inside a class")]
    [InlineData(@"a{3,1}", "malformed")]
    [InlineData(@"*a", "nothing to repeat")]
    [InlineData(@"(ab", "not closed")]
    public void Unsupported_patterns_fail_at_creation_naming_the_construct(string pattern, string construct)
    {
        var error = Assert.Throws<ArgumentException>(() => ConstraintDriver.Create(OutputConstraintKind.Regex, pattern: pattern));
        Assert.Contains(construct, error.Message, StringComparison.Ordinal);
    }
}
