using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Connect.Entries;

namespace Mesh.Agent.Tests.Connect;

public sealed class EntryValidatorTests
{
    private static ConfigEntry Read(string json) => EntryCodec.Read(JsonDocument.Parse(json).RootElement);

    private static List<ConfigEntry> Stored(params string[] entries) => entries.Select(Read).ToList();

    private static string? Problem(string json, params string[] existing)
    {
        try
        {
            EntryValidator.Validate(Read(json), Stored(existing));
            return null;
        }
        catch (ConfigEntryException ex)
        {
            return ex.Message;
        }
    }

    private const string WebHttp = """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""";
    private const string ApiHttp = """{"Kind":"service-defaults","Name":"api","Protocol":"http"}""";
    private const string WebSubsets = """{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2"}}}""";

    /// <summary>One row per rule: the entry, what is stored already, and the whole message the write is refused with.</summary>
    public static TheoryData<string, string[], string> Refusals() => new()
    {
        // Every kind.
        { """{"Kind":"service-defaults","Name":""}""", [], "Name is required" },
        { """{"Kind":"service-resolver"}""", [], "Name is required" },
        { """{"Kind":"service-defaults","Name":"web","Namespace":"team"}""", [], "Namespace \"team\" is not supported: only the \"default\" namespace and partition exist" },
        // service-defaults, proxy-defaults.
        { """{"Kind":"service-defaults","Name":"*"}""", [], "service-defaults name must be the name of a service, and not a wildcard" },
        { """{"Kind":"service-defaults","Name":"web","Protocol":"udp"}""", [], "invalid value for Protocol: \"udp\" (must be one of tcp, http, http2, grpc)" },
        { """{"Kind":"service-defaults","Name":"web","BalanceInboundConnections":"round"}""", [], "invalid value for balance_inbound_connections: round" },
        { """{"Kind":"service-defaults","Name":"web","MeshGateway":{"Mode":"far"}}""", [], "Invalid MeshGateway.Mode: \"far\" (must be one of \"\", \"none\", \"local\" or \"remote\")" },
        { """{"Kind":"proxy-defaults","Name":"web"}""", [], "invalid name (\"web\"), only \"global\" is supported" },
        { """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"smtp"}}""", [], "invalid value for Config.protocol: \"smtp\" (must be one of tcp, http, http2, grpc)" },
        { """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":5}}""", [], "Config.protocol must be a string" },
        // service-resolver.
        { """{"Kind":"service-resolver","Name":"web","DefaultSubset":"v3","Subsets":{"v1":{}}}""", [], "DefaultSubset \"v3\" is not a valid subset" },
        { """{"Kind":"service-resolver","Name":"web","Subsets":{"V1":{}}}""", [], "Subset \"V1\" is invalid: must be 63 characters or fewer, begin or end with lower case alphanumeric characters, and contain lower case alphanumeric characters or '-' in between" },
        { """{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"Service.Meta.version =="}}}""", [], "Filter for subset \"v1\" is not a valid expression: Invalid filter expression at offset 23: expected a value (a quoted string, a number or a bare word), found the end of the expression" },
        { """{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"api"},"Failover":{"*":{"Datacenters":["dc2"]}}}""", [], "Redirect and Failover cannot both be set" },
        { """{"Kind":"service-resolver","Name":"web","Redirect":{}}""", [], "Redirect is empty" },
        { """{"Kind":"service-resolver","Name":"web","Redirect":{"ServiceSubset":"v1"}}""", [], "Redirect.ServiceSubset defined without Redirect.Service" },
        { """{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"web"}}""", [], "Redirect.Service \"web\" is the resolver's own service: a redirect must name another service, a subset or a datacenter" },
        { """{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"web","ServiceSubset":"v9"}}""", [], "Redirect.ServiceSubset \"v9\" is not a valid subset of \"web\"" },
        { """{"Kind":"service-resolver","Name":"web","Failover":{"v9":{"Datacenters":["dc2"]}}}""", [], "Bad Failover[\"v9\"]: not a valid subset subset" },
        { """{"Kind":"service-resolver","Name":"web","Failover":{"*":{}}}""", [], "Bad Failover[\"*\"]: one of Service, ServiceSubset, Namespace, Targets, or Datacenters is required" },
        { """{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Service":"api","Targets":[{"Service":"db"}]}}}""", [], "Bad Failover[\"*\"]: Targets cannot be set with Service" },
        { """{"Kind":"service-resolver","Name":"web","Failover":{"*":{"Datacenters":[""]}}}""", [], "Bad Failover[\"*\"].Datacenters: found empty datacenter" },
        { """{"Kind":"service-resolver","Name":"web","ConnectTimeout":"-1s"}""", [], "Bad ConnectTimeout '-1s', must be >= 0" },
        { """{"Kind":"service-resolver","Name":"web","RequestTimeout":"-1500ms"}""", [], "Bad RequestTimeout '-1.5s', must be >= 0" },
        { """{"Kind":"service-resolver","Name":"web","LoadBalancer":{"Policy":"fastest"}}""", [], "Bad LoadBalancer policy: \"fastest\" is not supported" },
        { """{"Kind":"service-resolver","Name":"web","LoadBalancer":{"Policy":"random","HashPolicies":[{"Field":"header","FieldValue":"x"}]}}""", [], "Bad LoadBalancer configuration: HashPolicies specified for non-hash-based Policy: \"random\"" },
        { """{"Kind":"service-resolver","Name":"web","LoadBalancer":{"Policy":"maglev","HashPolicies":[{"field":"header"}]}}""", [], "Bad LoadBalancer HashPolicy[0]: Field \"header\" was specified without a FieldValue" },
        // service-splitter.
        { """{"Kind":"service-splitter","Name":"web"}""", [], "no splits configured" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":90,"ServiceSubset":"v1"}]}""", [WebHttp, WebSubsets], "the sum of all split weights must be 100, not 90.000000" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":33.33,"ServiceSubset":"v1"},{"Weight":33.33,"ServiceSubset":"v2"},{"Weight":33.334,"Service":"api"}]}""", [WebHttp, WebSubsets], "the sum of all split weights must be 100, not 99.990000" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":110,"ServiceSubset":"v1"},{"Weight":-10,"ServiceSubset":"v2"}]}""", [WebHttp, WebSubsets], "Splits[0].Weight must be between 0 and 100, not 110" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":1e300,"ServiceSubset":"v1"}]}""", [WebHttp, WebSubsets], "Splits[0].Weight must be between 0 and 100, not 1E+300" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":1e400,"ServiceSubset":"v1"}]}""", [WebHttp, WebSubsets], "Splits[0].Weight must be between 0 and 100, not Infinity" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50,"ServiceSubset":"v1"},{"Weight":50,"ServiceSubset":"v1"}]}""", [WebHttp, WebSubsets], "split destination occurs more than once: service=\"web\", subset=\"v1\", namespace=\"default\", partition=\"\"" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50,"ServiceSubset":"v1"},{"Weight":50,"ServiceSubset":"v3"}]}""", [WebHttp, WebSubsets], "service \"web\" does not have a subset named \"v3\"" },
        { """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":100,"Service":"api"}]}""", [], "discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior" },
        { """{"Kind":"service-splitter","Name":"a","Splits":[{"Weight":100,"Service":"b"}]}""", [ """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}""", """{"Kind":"service-splitter","Name":"b","Splits":[{"Weight":100,"Service":"c"}]}""", """{"Kind":"service-splitter","Name":"c","Splits":[{"Weight":100,"Service":"a"}]}""" ], "detected circular reference: [splitter:a -> splitter:b -> splitter:c -> splitter:a]" },
        // service-router.
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a","PathExact":"/b"}}}]}""", [WebHttp], "Route[0] should only contain at most one of PathExact, PathPrefix, or PathRegex" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"api"}}}]}""", [WebHttp], "Route[0] PathPrefix doesn't start with '/': \"api\"" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathExact":"api"}}}]}""", [WebHttp], "Route[0] PathExact doesn't start with '/': \"api\"" },
        { """{"Kind":"service-router","Name":"web","Routes":[{},{"Match":{"HTTP":{"Header":[{"Name":"x","Exact":"1","Prefix":"2"}]}}}]}""", [WebHttp], "Route[1] Header[0] should only contain one of Present, Exact, Prefix, Suffix, or Regex" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Header":[{"Present":true}]}}}]}""", [WebHttp], "Route[0] Header[0] missing required Name field" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Header":[{"Name":"x"}]}}}]}""", [WebHttp], "Route[0] Header[0] should only contain one of Present, Exact, Prefix, Suffix, or Regex" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"QueryParam":[{"Name":"q","Present":true,"Exact":"1"}]}}}]}""", [WebHttp], "Route[0] QueryParam[0] should only contain one of Present, Exact, or Regex" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["FETCH"]}}}]}""", [WebHttp], "Route[0] Methods contains an invalid method \"FETCH\"" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["get","GET"]}}}]}""", [WebHttp], "Route[0] Methods contains \"GET\" more than once" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathRegex":"/a.*"}},"Destination":{"PrefixRewrite":"/b"}}]}""", [WebHttp], "Route[0] cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Destination":{"RetryOn":["sometimes"]}}]}""", [WebHttp], "Route[0] contains an invalid retry condition: \"sometimes\"" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/v2"}},"Destination":{"Service":"api","ServiceSubset":"v2"}}]}""", [WebHttp, ApiHttp], "service \"api\" does not have a subset named \"v2\"" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]}""", [], "discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior" },
        { """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}},"Destination":{"Service":"api"}}]}""", [WebHttp], "discovery chain \"web\" uses inconsistent protocols; service \"api\" has \"tcp\" which is not \"http\"" },
        // Redirect loops across resolvers, named in order.
        { """{"Kind":"service-resolver","Name":"api","Redirect":{"Service":"web"}}""", [ """{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"db"}}""", """{"Kind":"service-resolver","Name":"db","Redirect":{"Service":"api"}}""" ], "detected circular resolver redirect: [api.default.dc1 -> web.default.dc1 -> db.default.dc1 -> api.default.dc1]" },
        // service-intentions.
        { """{"Kind":"service-intentions","Name":"db","Sources":[]}""", [], "At least one source is required" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Action":"allow"}]}""", [], "Sources[0].Name is required" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"permit"}]}""", [], "Sources[0].Action must be set to 'allow' or 'deny'" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web"}]}""", [], "Sources[0].Action must be set to 'allow' or 'deny'" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","Permissions":[{"Action":"deny","HTTP":{"PathPrefix":"/x"}}]}]}""", [], "Sources[0].Action must be omitted if Permissions are specified" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"web","Action":"deny"}]}""", [], "Sources[1] defines \"web\" more than once" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web-*","Action":"allow"}]}""", [], "Sources[0].Name: wildcard character '*' cannot be used with partial values" },
        { """{"Kind":"service-intentions","Name":"d*","Sources":[{"Name":"web","Action":"allow"}]}""", [], "Name: wildcard character '*' cannot be used with partial values" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","Type":"external"}]}""", [], "Sources[0].Type must be set to 'consul'" },
        { """{"Kind":"service-intentions","Name":"*","Sources":[{"Name":"web","Permissions":[{"Action":"deny","HTTP":{"PathPrefix":"/x"}}]}]}""", [], "Sources[0].Permissions cannot be specified on intentions with wildcarded destinations" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"block","HTTP":{"PathPrefix":"/x"}}]}]}""", [], "Sources[0].Permissions[0].Action must be set to 'allow' or 'deny'" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"deny"}]}]}""", [], "Sources[0].Permissions[0].HTTP is required" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"deny","HTTP":{}}]}]}""", [], "Sources[0].Permissions[0].HTTP should not be empty" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"deny","HTTP":{"PathPrefix":"/x","PathRegex":"/y"}}]}]}""", [], "Sources[0].Permissions[0].HTTP should only contain at most one of PathExact, PathPrefix, or PathRegex" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"deny","HTTP":{"PathExact":"x"}}]}]}""", [], "Sources[0].Permissions[0].HTTP.PathExact doesn't start with '/': \"x\"" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"deny","HTTP":{"Header":[{"Name":"x","Present":true,"Suffix":"y"}]}}]}]}""", [], "Sources[0].Permissions[0].HTTP.Header[0] should only contain one of Present, Exact, Prefix, Suffix, or Regex" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"deny","HTTP":{"Methods":["BREW"]}}]}]}""", [], "Sources[0].Permissions[0].HTTP.Methods contains an invalid method \"BREW\"" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"deny","HTTP":{"PathPrefix":"/x"}}]}]}""", [], "service \"db\" has protocol \"tcp\", which is incompatible with L7 intentions permissions" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","LegacyID":"x"}]}""", [], "Sources[0].LegacyID must be omitted" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Validate_BrokenRule_RefusedWithConsulsMessage(string entry, string[] existing, string message) =>
        Assert.Equal(message, Problem(entry, existing));

    public static TheoryData<string, string?> IntentionsWrites() => new()
    {
        // A source the legacy API made keeps its ID, times and metadata.
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","LegacyID":"0d9d4bd4-2f8c-4cf0-9a40-5c3c0b0b0b0b","LegacyMeta":{"k":"v"},"LegacyCreateTime":"2025-01-01T00:00:00Z","LegacyUpdateTime":"2025-01-01T00:00:00Z"},{"Name":"api","Action":"deny"}]}""", null },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","LegacyID":"x","LegacyUpdateTime":"2025-01-01T00:00:00Z"}]}""", "Sources[0].LegacyCreateTime must be set" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","LegacyID":"x","LegacyCreateTime":"2025-01-01T00:00:00Z"}]}""", "Sources[0].LegacyUpdateTime must be set" },
        // Without an ID the legacy fields mean nothing.
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","LegacyMeta":{"k":"v"}}]}""", "Sources[0].LegacyMeta must be omitted" },
        { """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow","LegacyID":"x","LegacyCreateTime":"2025-01-01T00:00:00Z","LegacyUpdateTime":"2025-01-01T00:00:00Z","LegacyMeta":{"k":"v"},"Description":"d"},{"Name":"web","Action":"deny"}]}""", "Sources[1] defines \"web\" more than once" },
    };

    [Theory]
    [MemberData(nameof(IntentionsWrites))]
    public void ValidateIntentionsWrite_LegacyFields_AllowedOnlyWhole(string entry, string? message)
    {
        string? problem = null;
        try
        {
            EntryValidator.ValidateIntentionsWrite((ServiceIntentionsEntry)Read(entry), [], EntryValidator.DefaultDatacenter);
        }
        catch (ConfigEntryException ex)
        {
            problem = ex.Message;
        }
        Assert.Equal(message, problem);
        // A whole-entry write may never set them.
        if (entry.Contains("LegacyID", StringComparison.Ordinal)) Assert.NotNull(Problem(entry));
    }

    [Fact]
    public void Validate_MetaOverConsulsLimits_Refused()
    {
        var meta = string.Join(',', Enumerable.Range(0, 65).Select(i => $"\"k{i}\":\"v\""));
        Assert.Equal("Meta exceeds maximum element count 64", Problem("{\"Kind\":\"service-defaults\",\"Name\":\"web\",\"Meta\":{" + meta + "}}"));
        var value = new string('v', 513);
        Assert.Equal("Meta value for key \"k\" exceeds maximum length 512", Problem("{\"Kind\":\"service-defaults\",\"Name\":\"web\",\"Meta\":{\"k\":\"" + value + "\"}}"));
    }

    [Fact]
    public void Validate_CanaryGraph_Accepted()
    {
        string[] stored = [WebHttp, ApiHttp, WebSubsets];
        Assert.Null(Problem("""{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":90,"ServiceSubset":"v1"},{"Weight":9.99,"ServiceSubset":"v2"},{"Weight":0.01,"Service":"api"}]}""", stored));
        Assert.Null(Problem("""{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/api","Methods":["get","post"]}},"Destination":{"Service":"api","PrefixRewrite":"/"}},{"Match":{"HTTP":{"Header":[{"Name":"x-canary","Present":true}]}},"Destination":{"ServiceSubset":"v2"}}]}""", stored));
        Assert.Null(Problem("""{"Kind":"service-intentions","Name":"web","Sources":[{"Name":"api","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/","Methods":["GET"]}}]},{"Name":"*","Action":"deny"}]}""", stored));
        Assert.Null(Problem("""{"Kind":"service-resolver","Name":"api","Redirect":{"Service":"web","ServiceSubset":"v2"}}""", stored));
        Assert.Null(Problem("""{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{}},"Failover":{"*":{"Datacenters":["dc2","dc3"]}},"ConnectTimeout":"3s","LoadBalancer":{"Policy":"ring_hash","RingHashConfig":{"MinimumRingSize":1024},"HashPolicies":[{"Field":"cookie","FieldValue":"id","CookieConfig":{"TTL":"10s"}}]}}""", stored));
    }

    [Fact]
    public void Validate_ProtocolToTcpUnderARouter_RefusedAsConsulDoes()
    {
        string[] stored = [WebHttp, """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]}"""];
        Assert.Equal("discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior",
            Problem("""{"Kind":"service-defaults","Name":"web","Protocol":"tcp"}""", stored));
        // An empty protocol in service-defaults is tcp: the compiler does not fall back to proxy-defaults then.
        Assert.Equal("discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior",
            Problem("""{"Kind":"service-defaults","Name":"web"}""", [.. stored, """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}"""]));
    }

    [Fact]
    public void Validate_ProtocolToTcpUnderL7Intentions_Refused()
    {
        string[] stored = [WebHttp, """{"Kind":"service-intentions","Name":"web","Sources":[{"Name":"api","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}]}"""];
        Assert.Equal("service \"web\" has protocol \"tcp\", which is incompatible with L7 intentions permissions",
            Problem("""{"Kind":"service-defaults","Name":"web","Protocol":"TCP"}""", stored));
    }

    [Fact]
    public void Validate_ProxyDefaultsProtocolUnderARouterThatReliesOnIt_Refused()
    {
        string[] stored =
        [
            """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}""",
            """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":100,"Service":"api"}]}""",
        ];
        Assert.Equal("discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior",
            Problem("""{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"tcp"}}""", stored));
        Assert.Null(Problem("""{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"grpc"}}""", stored));
    }

    [Fact]
    public void Validate_ChangeReachingAnotherChain_JudgesThatChain()
    {
        // web splits to api; making api tcp breaks web's chain, not api's own.
        string[] stored = [WebHttp, ApiHttp, """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50},{"Weight":50,"Service":"api"}]}"""];
        Assert.Equal("discovery chain \"web\" uses inconsistent protocols; service \"api\" has \"tcp\" which is not \"http\"",
            Problem("""{"Kind":"service-defaults","Name":"api","Protocol":"tcp"}""", stored));
        // Removing a subset a splitter elsewhere uses breaks that splitter's chain.
        Assert.Equal("service \"web\" does not have a subset named \"v2\"",
            Problem("""{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{}}}""",
                [WebHttp, WebSubsets, """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50,"ServiceSubset":"v1"},{"Weight":50,"ServiceSubset":"v2"}]}"""]));
    }

    [Fact]
    public void Validate_UnrelatedBrokenChainStored_DoesNotBlockOtherWrites()
    {
        // A chain stored before a rule existed stays as it is; writes that do not reach it still go through.
        string[] stored = ["""{"Kind":"service-router","Name":"legacy","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]}"""];
        Assert.Null(Problem(WebHttp, stored));
        Assert.Null(Problem("""{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":100,"Service":"api"}]}""", [WebHttp, ApiHttp, .. stored]));
    }

    [Fact]
    public void ValidateDelete_ProtocolUnderARouter_Refused()
    {
        var stored = Stored(WebHttp, """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]}""");
        var ex = Assert.Throws<ConfigEntryException>(() => EntryValidator.ValidateDelete("service-defaults", "web", stored));
        Assert.Equal("discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior", ex.Message);
        // The router can go, and then its protocol.
        EntryValidator.ValidateDelete("service-router", "web", stored);
        EntryValidator.ValidateDelete("service-defaults", "web", stored.Where(e => e.Kind != "service-router").ToList());
    }

    [Fact]
    public void ValidateDelete_UnknownKindOrProxyDefaultsName_Refused()
    {
        Assert.Equal("invalid config entry kind: bogus", Assert.Throws<ConfigEntryException>(() => EntryValidator.ValidateDelete("bogus", "x", [])).Message);
        Assert.Equal("invalid name (\"web\"), only \"global\" is supported",
            Assert.Throws<ConfigEntryException>(() => EntryValidator.ValidateDelete("proxy-defaults", "web", [])).Message);
    }

    [Fact]
    public void Validate_TargetIds_NameTheDatacenterGiven()
    {
        var stored = Stored("""{"Kind":"service-resolver","Name":"web","Redirect":{"Service":"api"}}""");
        var ex = Assert.Throws<ConfigEntryException>(() =>
            EntryValidator.Validate(Read("""{"Kind":"service-resolver","Name":"api","Redirect":{"Service":"web"}}"""), stored, "east"));
        Assert.Equal("detected circular resolver redirect: [api.default.east -> web.default.east -> api.default.east]", ex.Message);
    }

    [Fact]
    public void Validate_DeepSplitterNesting_RefusedWithoutExhaustingTheStack()
    {
        var stored = Enumerable.Range(0, 300)
            .Select(i => $$"""{"Kind":"service-splitter","Name":"s{{i}}","Splits":[{"Weight":100,"Service":"s{{i + 1}}"}]}""")
            .Prepend("""{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}""").ToArray();
        Assert.Equal("discovery chain \"s0\" nests splitters more than 256 deep",
            Problem("""{"Kind":"service-splitter","Name":"s0","Splits":[{"Weight":100,"Service":"s1"}]}""", stored));
    }

    [Fact]
    public void Normalize_WhatIsStored_LowerProtocolUpperMethodsRoundedWeightsGlobalName()
    {
        Assert.Equal("http", ((ServiceDefaultsEntry)EntryValidator.Normalize(Read("""{"Kind":"service-defaults","Name":"web","Protocol":"HTTP"}"""))).Protocol);
        Assert.Equal("global", EntryValidator.Normalize(Read("""{"Kind":"proxy-defaults"}""")).Name);
        var split = (ServiceSplitterEntry)EntryValidator.Normalize(Read("""{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":33.335},{"Weight":66.665,"Service":"api"}]}"""));
        Assert.Equal([33.34, 66.67], split.Splits!.Select(s => s.Weight));
        var router = (ServiceRouterEntry)EntryValidator.Normalize(Read("""{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"Methods":["get","Post"]}}}]}"""));
        Assert.Equal(["GET", "POST"], router.Routes![0].Match!.HTTP!.Methods!);
        // A writer's Precedence is ignored: it is computed from the names (here * to exact, 8).
        var input = Read("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"*","Action":"allow","Type":"","Precedence":1}]}""");
        var intentions = (ServiceIntentionsEntry)EntryValidator.Normalize(input);
        Assert.Equal("consul", intentions.Sources![0].Type);
        Assert.Equal(8, intentions.Sources[0].Precedence);
        // The input is left as it was.
        Assert.Equal(1, ((ServiceIntentionsEntry)input).Sources![0].Precedence);
    }

    /// <summary>
    /// Every leaf of valid entries replaced by odd values (nulls, wrong types, huge numbers, empty and wildcard names),
    /// a few at a time, from a fixed seed: reading and validating either succeeds, and the entry then reads back from
    /// its stored form unchanged, or fails with a ConfigEntryException, never with anything that would be a server error.
    /// </summary>
    [Fact]
    public void ReadAndValidate_MutatedEntries_OnlyConfigEntryExceptionsAndStoredFormRoundTrips()
    {
        string[] seeds =
        [
            WebHttp, ApiHttp, WebSubsets,
            """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"},"MeshGateway":{"Mode":"local"},"Expose":{"Checks":true,"Paths":[{"Path":"/h","LocalPathPort":8080,"ListenerPort":21500,"Protocol":"http"}]}}""",
            """{"Kind":"service-resolver","Name":"api","DefaultSubset":"v1","Subsets":{"v1":{"Filter":"Service.Meta.v == 1","OnlyPassing":true}},"Failover":{"*":{"Targets":[{"Service":"web","ServiceSubset":"v1"}]}},"ConnectTimeout":"2s","LoadBalancer":{"Policy":"ring_hash","RingHashConfig":{"MinimumRingSize":2},"HashPolicies":[{"Field":"header","FieldValue":"x"}]}}""",
            """{"Kind":"service-resolver","Name":"db","Redirect":{"Service":"web","ServiceSubset":"v2","Datacenter":"dc2"}}""",
            """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":60,"ServiceSubset":"v1","RequestHeaders":{"Set":{"x":"1"},"Remove":["y"]}},{"Weight":40,"ServiceSubset":"v2"}]}""",
            """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a","Header":[{"Name":"x","Exact":"1"}],"QueryParam":[{"Name":"q","Present":true}],"Methods":["GET"]}},"Destination":{"Service":"api","PrefixRewrite":"/","RequestTimeout":"1s","NumRetries":2,"RetryOn":["5xx"],"RetryOnStatusCodes":[503]}}]}""",
            """{"Kind":"service-intentions","Name":"web","Sources":[{"Name":"api","Permissions":[{"Action":"allow","HTTP":{"PathExact":"/x","Methods":["GET"],"Header":[{"Name":"h","Regex":"a.*","Invert":true}]}}]},{"Name":"*","Action":"deny","Description":"d"}]}""",
        ];
        JsonNode?[] odd() =>
        [
            null, 0, -1, 1e300, JsonNode.Parse("1e400"), 99999999999, true, "", "*", "x*", "GET", "/", "-1s", "10s", "tcp", "http", "v1", "web", "api",
            new JsonArray(), new JsonArray((JsonNode?)null), new JsonObject(), new JsonObject { ["a"] = null }, "Service.Meta.v ==", new string('a', 600),
        ];
        var stored = Stored(WebHttp, ApiHttp, WebSubsets);
        // Override with MESH_FUZZ_SEED to explore, as the HTTP fuzz corpus does.
        var random = new Random(int.TryParse(Environment.GetEnvironmentVariable("MESH_FUZZ_SEED"), out var seed) ? seed : 0x434647); // "CFG"
        var failures = new List<string>();
        for (var round = 0; round < 4000 && failures.Count < 5; round++)
        {
            var node = JsonNode.Parse(seeds[random.Next(seeds.Length)])!;
            var leaves = new List<(JsonNode Parent, object Key)>();
            Collect(node, leaves);
            for (var m = 1 + random.Next(3); m > 0; m--)
            {
                var (parent, key) = leaves[random.Next(leaves.Count)];
                var pool = odd();
                var value = pool[random.Next(pool.Length)];
                if (parent is JsonObject o && key is string k && o.ContainsKey(k)) o[k] = value;
                else if (parent is JsonArray a && key is int i && i < a.Count) a[i] = value;
            }
            var json = node.ToJsonString();
            try
            {
                var entry = EntryCodec.Read(JsonDocument.Parse(json).RootElement);
                EntryValidator.Validate(entry, stored);
                // What is accepted is stored as canonical JSON and must read back as the same entry.
                var canonical = EntryCodec.ToJson(EntryValidator.Normalize(entry));
                var again = EntryCodec.ToJson(EntryCodec.FromStored(canonical));
                if (again != canonical) failures.Add($"{json}\n    -> stored {canonical}\n    -> read back {again}");
            }
            catch (ConfigEntryException)
            {
            }
            catch (Exception ex)
            {
                failures.Add($"{json}\n    -> {ex.GetType().Name}: {ex.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));

        static void Collect(JsonNode node, List<(JsonNode, object)> leaves)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (k, v) in o.ToList())
                    {
                        if (k != "Kind") leaves.Add((o, k));
                        if (v is not null) Collect(v, leaves);
                    }
                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        leaves.Add((a, i));
                        if (a[i] is { } item) Collect(item, leaves);
                    }
                    break;
            }
        }
    }
}
