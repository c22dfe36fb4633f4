using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Mesh.Agent.Tests.Fixtures;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;

namespace Mesh.Agent.Tests.Connect;

/// <summary>The discovery-chain compiler: golden outputs for each feature, rules, and properties over random splitters.</summary>
public sealed class ChainCompilerTests
{
    private const string TrustDomain = "11111111-2222-3333-4444-555555555555.consul";

    internal static ConfigEntry Entry(string json) => EntryCodec.Read(JsonDocument.Parse(json).RootElement);

    internal static ChainEntries Entries(params string[] json) => new(json.Select(Entry));

    private static CompiledChain Compile(string service, ChainEntries entries, string? protocol = null, TimeSpan? timeout = null) =>
        ChainCompiler.Compile(new ChainRequest(service, "dc1", TrustDomain, protocol, timeout), entries);

    private static string Render(CompiledChain chain)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true })) ChainJson.Write(w, chain);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray()).ReplaceLineEndings("\n") + "\n";
    }

    /// <summary>Compares with the golden file; <c>MESH_UPDATE_GOLDEN=1</c> rewrites it instead (then review the diff).</summary>
    private static void Golden(string name, CompiledChain chain)
    {
        var path = Path.Combine(RepoPaths.Root, "tests", "Mesh.Agent.Tests", "Connect", "Golden", name + ".json");
        var actual = Render(chain);
        if (Environment.GetEnvironmentVariable("MESH_UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Assert.True(File.Exists(path), $"golden file {path} is missing; run with MESH_UPDATE_GOLDEN=1 to create it");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    private static readonly string[] L7 =
    [
        """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""",
        """{"Kind":"service-defaults","Name":"admin","Protocol":"http"}""",
        """{"Kind":"service-resolver","Name":"web","DefaultSubset":"v1","ConnectTimeout":"3s","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2","OnlyPassing":true}},"Failover":{"v1":{"Datacenters":["dc2"]}}}""",
        """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":90,"ServiceSubset":"v1"},{"Weight":10,"ServiceSubset":"v2","RequestHeaders":{"Set":{"x-canary":"true"}}}]}""",
        """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin"}},"Destination":{"Service":"admin","PrefixRewrite":"/","RequestTimeout":"2s"}},{"Match":{"HTTP":{"Header":[{"Name":"x-canary","Exact":"always"}]}},"Destination":{"ServiceSubset":"v2","NumRetries":2,"RetryOnConnectFailure":true}}]}""",
    ];

    [Fact]
    public void Golden_RouterSplitterResolverSubsetsFailover() => Golden("web-l7", Compile("web", Entries(L7)));

    [Fact]
    public void Golden_TcpService_ResolverOnly() => Golden("db-tcp", Compile("db", Entries()));

    [Fact]
    public void Golden_Redirect_ToAnotherServicesSubset() => Golden("legacy-redirect", Compile("legacy", Entries([.. L7,
        """{"Kind":"service-resolver","Name":"legacy","Redirect":{"Service":"web","ServiceSubset":"v2"}}"""])));

    [Fact]
    public void Golden_NestedSplitters_Flattened() => Golden("shop-nested", Compile("shop", Entries(
        """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}""",
        """{"Kind":"service-splitter","Name":"shop","Splits":[{"Weight":50,"Service":"cart"},{"Weight":50,"Service":"checkout"}]}""",
        """{"Kind":"service-splitter","Name":"cart","Splits":[{"Weight":33.33,"ServiceSubset":"a"},{"Weight":66.67,"ServiceSubset":"b"}]}""",
        """{"Kind":"service-resolver","Name":"cart","Subsets":{"a":{"Filter":"Service.Tags contains a"},"b":{"Filter":"Service.Tags contains b"}}}""")));

    [Fact]
    public void RouterOnTcpService_Ignored_ChainIsTheResolver()
    {
        var chain = Compile("web", Entries("""{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/x"}},"Destination":{"Service":"x"}}]}"""));
        Assert.Equal("tcp", chain.Protocol);
        Assert.Equal("resolver:web.default.dc1", chain.StartNode);
        Assert.True(chain.Default);
        Assert.Equal("web.default.dc1.internal." + TrustDomain, chain.Targets["web.default.dc1"].SNI);
    }

    [Fact]
    public void Router_CatchAllRouteToTheServiceIsLast()
    {
        var chain = Compile("web", Entries(L7));
        var routes = chain.Nodes["router:web"].Routes!;
        Assert.Equal(3, routes.Count);
        Assert.Equal("/", routes[^1].Definition.Match!.HTTP!.PathPrefix);
        Assert.Equal("splitter:web", routes[^1].NextNode);
        Assert.Equal("resolver:v2.web.default.dc1", routes[1].NextNode);
        Assert.Equal("resolver:admin.default.dc1", routes[0].NextNode);
    }

    [Fact]
    public void Overrides_ProtocolAndConnectTimeout()
    {
        var tcp = Compile("web", Entries(L7), protocol: "tcp", timeout: TimeSpan.FromSeconds(9));
        Assert.Equal("resolver:v1.web.default.dc1", tcp.StartNode);
        Assert.All(tcp.Targets.Values, t => Assert.Equal(TimeSpan.FromSeconds(9), t.ConnectTimeout));
    }

    [Fact]
    public void RedirectLoop_Refused_NamingWhere()
    {
        var entries = Entries(
            """{"Kind":"service-resolver","Name":"a","Redirect":{"Service":"b"}}""",
            """{"Kind":"service-resolver","Name":"b","Redirect":{"Service":"a"}}""");
        Assert.Contains("circular resolver redirect", Assert.Throws<ChainCompileException>(() => Compile("a", entries)).Message);
    }

    [Fact]
    public void MissingSubset_Refused()
    {
        var entries = Entries(
            """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""",
            """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":100,"ServiceSubset":"v9"}]}""");
        Assert.Contains("no subset \"v9\"", Assert.Throws<ChainCompileException>(() => Compile("web", entries)).Message);
    }

    /// <summary>Random splitters (some splitting to services with splitters of their own) over random subsets.</summary>
    private static Gen<ChainEntries> RandomMesh() =>
        from services in Gen.Choose(1, 4)
        from weights in Gen.ListOf(Gen.Choose(1, 10_000), services * 3)
        from shape in Gen.ListOf(Gen.Choose(0, 2), services * 3)
        select BuildMesh(services, weights.ToArray(), shape.ToArray());

    private static ChainEntries BuildMesh(int services, int[] weights, int[] shape)
    {
        var entries = new List<string> { """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}""" };
        for (var s = 0; s < services; s++)
        {
            entries.Add("{\"Kind\":\"service-resolver\",\"Name\":\"s" + s +
                "\",\"Subsets\":{\"a\":{\"Filter\":\"Service.Meta.v == a\"},\"b\":{\"Filter\":\"Service.Meta.v == b\"}}}");
            // Three raw weights scaled to two-decimal percents summing to exactly 100.
            var raw = weights[(s * 3)..(s * 3 + 3)];
            var pct = raw.Select(w => Math.Floor(w * 10000.0 / raw.Sum()) / 100).ToArray();
            pct[0] = Math.Round(100 - pct[1] - pct[2], 2);
            var splits = Enumerable.Range(0, 3).Select(i => shape[s * 3 + i] switch
            {
                0 => $$"""{"Weight":{{pct[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}},"Service":"s{{s}}","ServiceSubset":"{{(i % 2 == 0 ? "a" : "b")}}"}""",
                1 when s + 1 < services => $$"""{"Weight":{{pct[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}},"Service":"s{{s + 1}}"}""",
                _ => $$"""{"Weight":{{pct[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}},"Service":"s{{s}}","ServiceSubset":"b"}""",
            });
            entries.Add($$"""{"Kind":"service-splitter","Name":"s{{s}}","Splits":[{{string.Join(',', splits)}}]}""");
        }
        return Entries([.. entries]);
    }

    [Fact]
    public void Property_SplitWeightsSumToExactly100_EveryReferenceResolves()
    {
        Prop.ForAll(RandomMesh().ToArbitrary(), entries =>
        {
            var chain = Compile("s0", entries);
            foreach (var node in chain.Nodes.Values)
            {
                if (node.Splits is { } splits)
                {
                    // Envoy's weighted clusters need hundredths of a percent summing to exactly 10,000.
                    if (splits.Sum(s => (int)Math.Round(s.Weight * 100)) != 10_000) return false;
                    if (splits.Any(s => !chain.Nodes.ContainsKey(s.NextNode))) return false;
                }
                if (node.Resolver is { } r)
                {
                    if (!chain.Targets.TryGetValue(r.Target, out var target)) return false;
                    if (target.ServiceSubset.Length > 0 && entries.Resolver(target.Service)?.Subsets?.ContainsKey(target.ServiceSubset) != true) return false;
                }
            }
            return chain.Nodes.ContainsKey(chain.StartNode);
        }).QuickCheckThrowOnFailure();
    }
}
