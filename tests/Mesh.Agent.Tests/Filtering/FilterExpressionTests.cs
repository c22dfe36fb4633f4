using System.Text.Json;
using Mesh.State.Filtering;

namespace Mesh.Agent.Tests.Filtering;

public sealed class FilterExpressionTests
{
    // One /v1/catalog/service/<s> item as Consul renders it (PascalCase), plus a fractional number for float checks.
    private const string CatalogItemJson = """
        {
          "ID": "40e4a748-2192-161a-0510-9bf59fe950b5",
          "Node": "node-a",
          "Address": "192.168.10.10",
          "Datacenter": "dc1",
          "TaggedAddresses": { "lan": "192.168.10.10", "wan": "10.0.10.10" },
          "NodeMeta": { "env": "qa", "os": "linux", "blank": "" },
          "ServiceKind": "",
          "ServiceID": "redis-1",
          "ServiceName": "redis",
          "ServiceTags": [ "primary", "v1" ],
          "ServiceAddress": "",
          "ServiceMeta": { "version": "4.0", "key with spaces": "yes", "path": "/health", "a/b": "slash" },
          "ServicePort": 8000,
          "ServiceWeights": { "Passing": 10, "Warning": 1 },
          "ServiceEnableTagOverride": false,
          "ServiceProxy": null,
          "ServiceConnect": {},
          "ServiceTaggedAddresses": null,
          "Checks": [
            { "CheckID": "serfHealth", "Status": "passing", "ServiceTags": [] },
            { "CheckID": "service:redis-1", "Status": "warning", "ServiceTags": [ "primary" ] }
          ],
          "Ports": [ 8000, 8001 ],
          "Flags": [ true ],
          "Load": 0.75,
          "CreateIndex": 10,
          "ModifyIndex": 12
        }
        """;

    private static readonly JsonElement Item = JsonDocument.Parse(CatalogItemJson).RootElement.Clone();

    [Theory]
    // == and != on strings, bare words and raw strings
    [InlineData("ServiceName == \"redis\"", true)]
    [InlineData("ServiceName == redis", true)]
    [InlineData("ServiceName == `redis`", true)]
    [InlineData("ServiceName == \"Redis\"", false)]
    [InlineData("ServiceName != \"redis\"", false)]
    [InlineData("ServiceName != web", true)]
    [InlineData("ServiceName==redis", true)]
    [InlineData("  ServiceName   ==   redis  ", true)]
    [InlineData("Node == \"node-a\"", true)]
    [InlineData("ServiceID == \"redis-1\"", true)]
    [InlineData("NodeMeta.env == qa", true)]
    [InlineData("NodeMeta.env != qa", false)]
    [InlineData("ServiceMeta.version == \"4.0\"", true)]
    [InlineData("ServiceMeta.version == 4.0", true)]
    [InlineData("TaggedAddresses.wan == \"10.0.10.10\"", true)]
    // indexes and JSON pointers
    [InlineData("ServiceMeta[\"key with spaces\"] == yes", true)]
    [InlineData("ServiceMeta[ `key with spaces` ] == yes", true)]
    [InlineData("\"/ServiceMeta/version\" == \"4.0\"", true)]
    [InlineData("\"/ServiceMeta/a~1b\" == slash", true)]
    [InlineData("Checks.1.Status == warning", true)]
    [InlineData("Checks.0.Status == warning", false)]
    [InlineData("Checks[\"0\"].CheckID == serfHealth", true)]
    // numbers: the literal is converted to the field's type
    [InlineData("ServicePort == 8000", true)]
    [InlineData("ServicePort == \"8000\"", true)]
    [InlineData("ServicePort == \"0x1F40\"", true)]
    [InlineData("ServicePort != 8001", true)]
    [InlineData("ServiceWeights.Passing == 10", true)]
    [InlineData("Load == 0.75", true)]
    [InlineData("Load == \".75e0\"", true)] // only quoted, the number grammar is plain decimal; ParseFloat accepts it
    [InlineData("Load != 0.5", true)]
    [InlineData("ModifyIndex == -12", false)]
    // booleans, converted with Go's ParseBool
    [InlineData("ServiceEnableTagOverride == false", true)]
    [InlineData("ServiceEnableTagOverride == F", true)]
    [InlineData("ServiceEnableTagOverride == 0", true)]
    [InlineData("ServiceEnableTagOverride != true", true)]
    [InlineData("ServiceEnableTagOverride == \"true\"", false)]
    // in / contains on lists, maps and strings
    [InlineData("\"primary\" in ServiceTags", true)]
    [InlineData("primary in ServiceTags", true)]
    [InlineData("\"secondary\" in ServiceTags", false)]
    [InlineData("\"secondary\" not in ServiceTags", true)]
    [InlineData("\"v1\" not in ServiceTags", false)]
    [InlineData("ServiceTags contains v1", true)]
    [InlineData("ServiceTags contains \"prim\"", false)] // element equality, not substring
    [InlineData("ServiceTags not contains v2", true)]
    [InlineData("NodeMeta contains os", true)]
    [InlineData("os in NodeMeta", true)]
    [InlineData("linux in NodeMeta", false)] // maps: key presence, not values
    [InlineData("NodeMeta not contains zone", true)]
    [InlineData("ServiceName contains edi", true)]
    [InlineData("\"dis\" in ServiceName", true)]
    [InlineData("\"xyz\" not in ServiceName", true)]
    [InlineData("8001 in Ports", true)]
    [InlineData("\"8002\" in Ports", false)]
    [InlineData("abc in Ports", false)] // elements the literal cannot convert to are skipped
    [InlineData("Flags contains true", true)]
    [InlineData("\"x\" in ServiceTaggedAddresses", false)] // null: a nil map contains nothing
    [InlineData("Checks.1.ServiceTags contains primary", true)]
    // is empty / is not empty
    [InlineData("ServiceAddress is empty", true)]
    [InlineData("ServiceName is empty", false)]
    [InlineData("ServiceName is not empty", true)]
    [InlineData("ServiceProxy is empty", true)]
    [InlineData("ServiceConnect is empty", true)]
    [InlineData("ServiceTags is empty", false)]
    [InlineData("Checks.0.ServiceTags is empty", true)]
    [InlineData("NodeMeta.blank is empty", true)]
    [InlineData("NodeMeta is not empty", true)]
    // a key missing from a map takes go-bexpr's "not present" answer
    [InlineData("NodeMeta.zone is empty", true)]
    [InlineData("NodeMeta.zone is not empty", false)]
    [InlineData("NodeMeta.zone == \"\"", false)]
    [InlineData("NodeMeta.zone != east", true)]
    [InlineData("east in NodeMeta.zone", false)]
    [InlineData("east not in NodeMeta.zone", true)]
    [InlineData("NodeMeta.zone matches \".*\"", false)]
    [InlineData("NodeMeta.zone not matches \".*\"", true)]
    [InlineData("ServiceTaggedAddresses.lan is empty", true)] // null parent: a nil map
    // matches / not matches
    [InlineData("ServiceName matches \"^re\"", true)]
    [InlineData("ServiceName matches `^r.d+is$`", true)]
    [InlineData("ServiceName matches \"^web\"", false)]
    [InlineData("ServiceName not matches \"^web\"", true)]
    [InlineData("ServiceID matches \"-[0-9]+$\"", true)]
    [InlineData("NodeMeta.os matches \"(?i)LINUX\"", true)]
    [InlineData("Address matches \"^192\\\\.168\\\\.\"", true)]
    // boolean logic and precedence: not > and > or
    [InlineData("ServiceName == redis and NodeMeta.env == qa", true)]
    [InlineData("ServiceName == redis and NodeMeta.env == prod", false)]
    [InlineData("ServiceName == web or NodeMeta.env == qa", true)]
    [InlineData("ServiceName == web or NodeMeta.env == prod", false)]
    [InlineData("not ServiceName == web", true)]
    [InlineData("not not ServiceName == web", false)]
    [InlineData("ServiceName == redis or ServiceName == web and NodeMeta.env == prod", true)]
    [InlineData("(ServiceName == redis or ServiceName == web) and NodeMeta.env == prod", false)]
    [InlineData("not ServiceName == redis or NodeMeta.env == qa", true)]
    [InlineData("not (ServiceName == redis or NodeMeta.env == qa)", false)]
    [InlineData("((ServiceName == redis))", true)]
    [InlineData("(ServiceName == redis)and(NodeMeta.env == qa)", true)]
    [InlineData("\"primary\" in ServiceTags and not ServiceTags contains v2 and ServicePort == 8000", true)]
    [InlineData("ServiceName == a or ServiceName == b or ServiceName == c or ServiceName == redis", true)]
    public void Matches_CatalogItem_ReturnsExpected(string expression, bool expected)
    {
        var filter = FilterExpression.Parse(expression);

        Assert.Equal(expected, filter.Matches(Item));
    }

    [Theory]
    // In spirit of Consul's filtering docs (api-docs/features/filtering): each pair is the documented form and the
    // documented outcome for the item it describes.
    [InlineData("NodeMeta.os == \"linux\"", true)]
    [InlineData("ServiceMeta.version != \"1.0\"", true)]
    [InlineData("\"v1\" in ServiceTags and NodeMeta.env == qa", true)]
    [InlineData("ServiceTags not contains \"primary\"", false)]
    [InlineData("ServiceName matches \"^red\" and ServicePort == 8000", true)]
    [InlineData("NodeMeta.os is empty or ServiceMeta is empty", false)]
    [InlineData("\"/NodeMeta/env\" == qa", true)]
    [InlineData("TaggedAddresses.lan == Address", false)] // a bare word on the right is a value, not a selector
    public void Matches_ConsulDocsExamples_ReturnDocumentedResult(string expression, bool expected)
    {
        Assert.Equal(expected, FilterExpression.Parse(expression).Matches(Item));
    }

    [Theory]
    [InlineData("\"a\\tb\" in ServiceName", "a\tb")]
    [InlineData("\"q\\\"uote\" in ServiceName", "q\"uote")]
    [InlineData("\"back\\\\slash\" in ServiceName", "back\\slash")]
    [InlineData("\"\\u00e9t\\u00E9\" in ServiceName", "été")]
    [InlineData("\"\\U0001F600\" in ServiceName", "😀")]
    [InlineData("\"\\x41\\102\" in ServiceName", "AB")]
    [InlineData("\"\\xc3\\xa9\" in ServiceName", "é")] // byte escapes assemble UTF-8, as in Go
    [InlineData("`raw \\n stays` in ServiceName", "raw \\n stays")]
    [InlineData("\"\" in ServiceName", "")]
    [InlineData("v1.2.3 in ServiceName", "v1.2.3")]
    [InlineData("a[\"b c\"] in ServiceName", "a.b c")]
    [InlineData("-12.5 in ServiceName", "-12.5")]
    public void Parse_Literal_UnquotesLikeGo(string expression, string expectedValue)
    {
        var root = Assert.IsType<MatchNode>(FilterExpression.Parse(expression).Root);

        Assert.Equal(expectedValue, root.Value);
    }

    [Fact]
    public void Matches_EscapedValue_ComparesUnquotedText()
    {
        var item = JsonDocument.Parse("""{ "Meta": { "note": "say \"hi\"\n" } }""").RootElement;

        Assert.True(FilterExpression.Parse("Meta.note == \"say \\\"hi\\\"\\n\"").Matches(item));
        Assert.True(FilterExpression.Parse("Meta.note contains `\"hi\"`").Matches(item));
    }

    [Theory]
    [InlineData("A == 1 or B == 1 and C == 1", "(or (Equal A \"1\") (and (Equal B \"1\") (Equal C \"1\")))")]
    [InlineData("A == 1 and B == 1 or C == 1", "(or (and (Equal A \"1\") (Equal B \"1\")) (Equal C \"1\"))")]
    [InlineData("not A == 1 and B == 1", "(and (not (Equal A \"1\")) (Equal B \"1\"))")]
    [InlineData("not (A == 1 and B == 1)", "(not (and (Equal A \"1\") (Equal B \"1\")))")]
    [InlineData("A == 1 or B == 1 or C == 1", "(or (Equal A \"1\") (or (Equal B \"1\") (Equal C \"1\")))")]
    [InlineData("not not A is empty", "(IsEmpty A)")]
    [InlineData("x in A.B", "(In A.B \"x\")")]
    [InlineData("A.B contains x", "(In A.B \"x\")")]
    [InlineData("x not in A", "(NotIn A \"x\")")]
    [InlineData("A not contains x", "(NotIn A \"x\")")]
    [InlineData("A is not empty", "(IsNotEmpty A)")]
    [InlineData("A.0.b_c != `x`", "(NotEqual A.0.b_c \"x\")")]
    [InlineData("\"/a/b\" in A", "(In A \"/a/b\")")] // a quoted value before 'in' is the string as written
    [InlineData("notes == 1", "(Equal notes \"1\")")]
    [InlineData("android in tags", "(In tags \"android\")")]
    public void Parse_Expression_BuildsTreeWithGoBexprPrecedence(string expression, string expected)
    {
        Assert.Equal(expected, FilterExpression.Parse(expression).Root.Describe());
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("   ", 3)]
    [InlineData("ServiceName", 11)]
    [InlineData("ServiceName ==", 14)]
    [InlineData("ServiceName = redis", 12)]
    [InlineData("ServiceName == redis and", 24)]
    [InlineData("ServiceName == redis or or", 26)]
    [InlineData("(ServiceName == redis", 21)]
    [InlineData("ServiceName == redis)", 20)]
    [InlineData("ServiceName == \"redis", 15)]
    [InlineData("ServiceName == `redis", 15)]
    [InlineData("ServiceName == \"a\\qb\"", 17)]
    [InlineData("ServiceName == \"\\x4\"", 16)]
    [InlineData("ServiceName == \"\\uD800\"", 16)]
    [InlineData("ServiceName == \"\\777\"", 16)]
    [InlineData("ServiceName == \"a\nb\"", 17)]
    [InlineData("ServiceName == 12abc", 17)]
    [InlineData("ServiceName == 1.", 17)]
    [InlineData("ServiceName == -", 16)]
    [InlineData("ServiceID == redis-1", 18)] // a bare word ends at '-'
    [InlineData("ServicePort == 0x1F40", 16)] // the number grammar is plain decimal; quote other forms
    [InlineData("ServiceMeta. == x", 12)]
    [InlineData("ServiceMeta[version] == x", 12)]
    [InlineData("ServiceMeta[\"version\" == x", 22)]
    [InlineData("\"x\" == ServiceName", 4)]
    [InlineData("5 contains ServiceTags", 2)]
    [InlineData("x in 5", 5)]
    [InlineData("ServiceName is full", 12)]
    [InlineData("ServiceName matches \"(\"", 20)]
    [InlineData("ServiceName matches \"(a)\\\\1\"", 20)] // backreferences are not RE2
    [InlineData("ServiceName matches `(a{1000}){1000}`", 20)] // the automaton would be too large
    [InlineData("== redis", 0)]
    [InlineData("not", 3)]
    [InlineData("_x == 1", 0)]
    public void Parse_MalformedExpression_ThrowsWithOffset(string expression, int offset)
    {
        var ex = Assert.Throws<FilterException>(() => FilterExpression.Parse(expression));

        Assert.Equal(offset, ex.Offset);
        Assert.Contains($"at offset {offset}:", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("Nope == x", 0)] // a top-level field that does not exist: go-bexpr errors
    [InlineData("servicename == redis", 0)] // names are case-sensitive
    [InlineData("ServiceName == redis and Nope.x == y", 25)] // a missing intermediate part errors
    [InlineData("ServiceName.x == y", 0)]
    [InlineData("Checks.5.Status == passing", 0)]
    [InlineData("Checks.x == passing", 0)]
    [InlineData("ServicePort == abc", 0)]
    [InlineData("ServicePort == 80.5", 0)]
    [InlineData("Load == abc", 0)]
    [InlineData("ServiceEnableTagOverride == yes", 0)]
    [InlineData("NodeMeta == x", 0)]
    [InlineData("ServiceProxy == x", 0)]
    [InlineData("ServicePort is empty", 0)]
    [InlineData("ServicePort matches \"8\"", 0)]
    [InlineData("x in ServicePort", 0)]
    [InlineData("passing in Checks", 0)] // a list of maps has no element equality
    public void Matches_SelectorOrValueUnusable_ThrowsFilterException(string expression, int offset)
    {
        var filter = FilterExpression.Parse(expression);

        var ex = Assert.Throws<FilterException>(() => filter.Matches(Item));

        Assert.Equal(offset, ex.Offset);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Matches_ShortCircuit_SkipsUnusableRightOperand()
    {
        // go-bexpr stops at the first decisive operand, so an error on the right never surfaces.
        Assert.False(FilterExpression.Parse("ServiceName == web and Nope == x").Matches(Item));
        Assert.True(FilterExpression.Parse("ServiceName == redis or Nope == x").Matches(Item));
    }

    [Fact]
    public void Parse_TooLong_Throws()
    {
        var text = "ServiceName == " + new string('a', FilterParser.MaxLength);

        var ex = Assert.Throws<FilterException>(() => FilterExpression.Parse(text));

        Assert.Contains("limit is 4096", ex.Message);
    }

    [Fact]
    public void Parse_AtLengthLimit_Parses()
    {
        var text = "ServiceName == " + new string('a', FilterParser.MaxLength - 15);

        Assert.False(FilterExpression.Parse(text).Matches(Item));
    }

    [Theory]
    [InlineData("(", ")")]
    [InlineData("not (", ")")]
    [InlineData("not ", "")]
    public void Parse_NestedTooDeep_Throws(string open, string close)
    {
        var text = string.Concat(Enumerable.Repeat(open, FilterParser.MaxDepth + 1)) + "A == 1"
            + string.Concat(Enumerable.Repeat(close, FilterParser.MaxDepth + 1));

        var ex = Assert.Throws<FilterException>(() => FilterExpression.Parse(text));

        Assert.Contains("deeper than 64", ex.Message);
    }

    [Fact]
    public void Parse_NestedAtLimit_Parses()
    {
        var text = new string('(', FilterParser.MaxDepth) + "ServiceName == redis" + new string(')', FilterParser.MaxDepth);

        Assert.True(FilterExpression.Parse(text).Matches(Item));
    }

    [Fact]
    public void Matches_LongOrChainAtLengthLimit_EvaluatesWithoutDeepRecursion()
    {
        var terms = Enumerable.Range(0, 400).Select(i => $"A=={i}");
        var text = string.Join(" or ", terms);
        Assert.True(text.Length <= FilterParser.MaxLength);
        var item = JsonDocument.Parse("""{ "A": 399 }""").RootElement;

        Assert.True(FilterExpression.Parse(text).Matches(item));
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNull()
    {
        Assert.Throws<ArgumentNullException>(() => FilterExpression.Parse(null!));
    }

    [Fact]
    public void Parse_Expression_KeepsTextForDiagnostics()
    {
        var filter = FilterExpression.Parse("ServiceName == redis");

        Assert.Equal("ServiceName == redis", filter.Text);
        Assert.Equal("ServiceName == redis", filter.ToString());
    }

    [Theory]
    [InlineData("10", true, 10L)]
    [InlineData("-10", true, -10L)]
    [InlineData("0x1f", true, 31L)]
    [InlineData("0b101", true, 5L)]
    [InlineData("0o17", true, 15L)]
    [InlineData("017", true, 15L)]
    [InlineData("0x_1_f", true, 31L)]
    [InlineData("1_0", true, 10L)]
    [InlineData("1__0", false, 0L)]
    [InlineData("_10", false, 0L)]
    [InlineData("10_", false, 0L)]
    [InlineData("08", false, 0L)]
    [InlineData("9223372036854775807", true, long.MaxValue)]
    [InlineData("-9223372036854775808", true, long.MinValue)]
    [InlineData("9223372036854775808", false, 0L)]
    [InlineData("", false, 0L)]
    [InlineData("1.0", false, 0L)]
    public void TryParseInt64_GoSyntax_MatchesStrconv(string text, bool ok, long expected)
    {
        Assert.Equal(ok, GoLiterals.TryParseInt64(text, out var value));
        Assert.Equal(expected, value);
    }
}
