using System.Collections.Immutable;
using Mesh.Agent.Queries;
using Mesh.Consensus.Dev;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Fsm;
using Mesh.State.Tables;

namespace Mesh.Agent.Tests.Queries;

public class PreparedQueryExecutorTests
{
    /// <summary>A store driven through the real FSM, with a small catalog of "web" instances on several nodes.</summary>
    private sealed class Catalog
    {
        private readonly InMemoryLog _log;

        public Catalog()
        {
            Store = new StateStore();
            _log = new InMemoryLog(new StateMachine(Store), "127.0.0.1:8300");
        }

        public StateStore Store { get; }

        public void Apply(Command command)
        {
            var r = (CommandResult)_log.ApplyAsync(CommandCodec.Encode(command with { Now = DateTime.UtcNow }), CancellationToken.None)
                .GetAwaiter().GetResult().Response!;
            Assert.True(r.Ok, r.Error);
        }

        public void Instance(string node, string id, string status = HealthStatus.Passing, string[]? tags = null,
            Dictionary<string, string>? nodeMeta = null, Dictionary<string, string>? meta = null, string service = "web",
            string address = "10.0.0.1", string kind = "", string? proxyJson = null, string nodeCheck = HealthStatus.Passing)
        {
            Apply(new CatalogRegisterCommand(
                new Node { Name = node, Address = address, Meta = (nodeMeta ?? []).ToImmutableDictionary() },
                new ServiceInstance
                {
                    Node = node, ID = id, Service = service, Tags = [.. tags ?? []], Meta = (meta ?? []).ToImmutableDictionary(), Kind = kind,
                    ProxyJson = proxyJson,
                },
                [
                    new HealthCheck { Node = node, CheckID = "serfHealth", Status = nodeCheck },
                    new HealthCheck { Node = node, CheckID = "check-" + id, ServiceID = id, Status = status },
                ],
                SkipNodeUpdate: false));
        }

        public PreparedQuery Query(string name, ServiceQuery service, string? template = null, string regexp = "", string ttl = "")
        {
            var q = new PreparedQuery
            {
                ID = Guid.NewGuid().ToString(),
                Name = name,
                Service = service,
                Template = new QueryTemplateOptions { Type = template ?? "", Regexp = regexp },
                DNS = new QueryDnsOptions { TTL = ttl },
            };
            Apply(new PreparedQueryCreateCommand(q));
            return q;
        }

        public string[] Run(string idOrName, int limit = 0, string? near = null, bool connect = false, string agent = "agent", int seed = 1,
            string? source = null) =>
            new PreparedQueryExecutor(new Random(seed)).Execute(Store.View(), idOrName, agent, limit, near, connect, source)!
                .Nodes.Select(e => e.Service.ID).ToArray();

        public string[] Sorted(string idOrName, bool connect = false) => [.. Run(idOrName, connect: connect).Order(StringComparer.Ordinal)];
    }

    private static ServiceQuery Web(bool onlyPassing = false, string[]? tags = null) =>
        new() { Service = "web", OnlyPassing = onlyPassing, Tags = [.. tags ?? []] };

    [Fact]
    public void Execute_UnknownName_ReturnsNull()
    {
        var c = new Catalog();
        Assert.Null(new PreparedQueryExecutor(new Random(1)).Execute(c.Store.View(), "nothing", "agent"));
    }

    [Fact]
    public void Execute_Health_CriticalAlwaysExcluded_WarningOnlyWithOnlyPassing()
    {
        var c = new Catalog();
        c.Instance("n1", "ok");
        c.Instance("n2", "warn", HealthStatus.Warning);
        c.Instance("n3", "down", HealthStatus.Critical);
        c.Instance("n4", "node-down", nodeCheck: HealthStatus.Critical);
        c.Query("all", Web());
        c.Query("passing", Web(onlyPassing: true));
        Assert.Equal(["ok", "warn"], c.Sorted("all"));
        Assert.Equal(["ok"], c.Sorted("passing"));
    }

    [Fact]
    public void Execute_IgnoreCheckIDs_TheirStatusDoesNotCount()
    {
        var c = new Catalog();
        c.Instance("n1", "ok");
        c.Instance("n2", "flaky", HealthStatus.Critical);
        c.Query("q", Web() with { IgnoreCheckIDs = ["check-flaky"] });
        Assert.Equal(["flaky", "ok"], c.Sorted("q"));
    }

    [Fact]
    public void Execute_Tags_AllRequiredNoneForbidden_IgnoringCase()
    {
        var c = new Catalog();
        c.Instance("n1", "primary", tags: ["Primary", "v1"]);
        c.Instance("n2", "canary", tags: ["primary", "Canary"]);
        c.Instance("n3", "plain", tags: ["v1"]);
        c.Query("primary", Web(tags: ["PRIMARY"]));
        c.Query("stable", Web(tags: ["primary", "!canary"]));
        c.Query("not-canary", Web(tags: ["!CANARY"]));
        Assert.Equal(["canary", "primary"], c.Sorted("primary"));
        Assert.Equal(["primary"], c.Sorted("stable"));
        Assert.Equal(["plain", "primary"], c.Sorted("not-canary"));
    }

    [Fact]
    public void Execute_NodeMetaAndServiceMeta_EveryPairMustMatch()
    {
        var c = new Catalog();
        c.Instance("n1", "a", nodeMeta: new() { ["zone"] = "a", ["rack"] = "1" }, meta: new() { ["version"] = "2" });
        c.Instance("n2", "b", nodeMeta: new() { ["zone"] = "b" }, meta: new() { ["version"] = "2" });
        c.Instance("n3", "c", nodeMeta: new() { ["zone"] = "a" }, meta: new() { ["version"] = "1" });
        c.Query("zone-a", Web() with { NodeMeta = ImmutableDictionary<string, string>.Empty.Add("zone", "a") });
        c.Query("v2", Web() with { ServiceMeta = ImmutableDictionary<string, string>.Empty.Add("version", "2") });
        c.Query("both", Web() with
        {
            NodeMeta = ImmutableDictionary<string, string>.Empty.Add("zone", "a").Add("rack", "1"),
            ServiceMeta = ImmutableDictionary<string, string>.Empty.Add("version", "2"),
        });
        Assert.Equal(["a", "c"], c.Sorted("zone-a"));
        Assert.Equal(["a", "b"], c.Sorted("v2"));
        Assert.Equal(["a"], c.Sorted("both"));
    }

    [Fact]
    public void Execute_ManyRuns_ShuffleTheOrder()
    {
        var c = new Catalog();
        for (var i = 0; i < 5; i++) c.Instance("n" + i, "w" + i);
        c.Query("q", Web());
        var executor = new PreparedQueryExecutor(new Random(7));
        var firsts = Enumerable.Range(0, 200).Select(_ => executor.Execute(c.Store.View(), "q", "agent")!.Nodes[0].Service.ID).ToHashSet();
        Assert.Equal(5, firsts.Count);
    }

    [Fact]
    public void Execute_Near_PutsThatNodesInstancesFirst()
    {
        var c = new Catalog();
        for (var i = 0; i < 6; i++) c.Instance("n" + i, "w" + i);
        c.Instance("n3", "w3b");
        c.Query("q", Web());
        c.Query("near-n5", Web() with { Near = "n5" });
        c.Query("near-agent", Web() with { Near = "_agent" });
        for (var seed = 0; seed < 20; seed++)
        {
            Assert.Equal(["w3", "w3b"], c.Run("q", near: "n3", seed: seed)[..2].Order());
            Assert.Equal("w2", c.Run("q", near: "_agent", agent: "n2", seed: seed)[0]);
            Assert.Equal("w5", c.Run("near-n5", seed: seed)[0]);
            // The request's near wins over the query's.
            Assert.Equal("w1", c.Run("near-n5", near: "n1", seed: seed)[0]);
            Assert.Equal("w4", c.Run("near-agent", agent: "n4", seed: seed)[0]);
        }
        // An unknown node leaves every instance in the answer.
        Assert.Equal(7, c.Run("q", near: "nowhere").Length);
    }

    [Fact]
    public void Execute_NearIp_UsesTheNodeWithTheCallersAddress()
    {
        var c = new Catalog();
        c.Instance("a", "wa", address: "10.0.0.1");
        c.Instance("b", "wb", address: "10.0.0.2");
        c.Instance("c", "wc", address: "10.0.0.3");
        c.Query("q", Web());
        for (var seed = 0; seed < 10; seed++)
        {
            Assert.Equal("wb", c.Run("q", near: "_ip", source: "10.0.0.2", seed: seed)[0]);
        }
        // Without a source address (or one no node has) nothing moves, and nothing is lost.
        Assert.Equal(3, c.Run("q", near: "_ip").Length);
        Assert.Equal(3, c.Run("q", near: "_ip", source: "192.0.2.1").Length);
    }

    [Fact]
    public void Execute_Limit_CapsTheAnswerAfterOrdering()
    {
        var c = new Catalog();
        for (var i = 0; i < 5; i++) c.Instance("n" + i, "w" + i);
        c.Query("q", Web());
        Assert.Equal(2, c.Run("q", limit: 2).Length);
        Assert.Equal(["w4"], c.Run("q", limit: 1, near: "n4"));
        Assert.Equal(5, c.Run("q", limit: 0).Length);
        Assert.Equal(5, c.Run("q", limit: -3).Length);
    }

    [Fact]
    public void Execute_Connect_SelectsTheProxiesOfTheService()
    {
        var c = new Catalog();
        c.Instance("n1", "web-1");
        c.Instance("n1", "web-1-sidecar-proxy", service: "web-sidecar-proxy", kind: "connect-proxy",
            proxyJson: """{"DestinationServiceName":"web"}""");
        c.Query("q", Web());
        c.Query("connect", Web() with { Connect = true });
        Assert.Equal(["web-1"], c.Sorted("q"));
        Assert.Equal(["web-1-sidecar-proxy"], c.Sorted("q", connect: true));
        Assert.Equal(["web-1-sidecar-proxy"], c.Sorted("connect"));
    }

    [Fact]
    public void Execute_Template_RunsTheRenderedQuery_WithItsTtl()
    {
        var c = new Catalog();
        c.Instance("n1", "db-1", service: "db", tags: ["primary"]);
        c.Instance("n2", "db-2", service: "db", tags: ["replica"]);
        c.Query("geo-", new ServiceQuery { Service = "${match(1)}", Tags = ["${match(2)}"] }, QueryTemplateOptions.NamePrefixMatch,
            "^geo-([a-z]+)-([a-z]+)$", ttl: "1m30s");
        var result = new PreparedQueryExecutor(new Random(1)).Execute(c.Store.View(), "geo-db-replica", "agent")!;
        Assert.Equal(("db", "replica"), (result.Query.Service.Service, result.Query.Service.Tags.Single()));
        Assert.Equal(["db-2"], result.Nodes.Select(n => n.Service.ID));
        Assert.Equal(TimeSpan.FromSeconds(90), result.DnsTtl);
        Assert.True(result.Index >= c.Store.View().TableIndex(TableNames.PreparedQueries));
    }

    [Fact]
    public void Execute_NoTtl_ReportsNone()
    {
        var c = new Catalog();
        c.Query("q", Web());
        Assert.Null(new PreparedQueryExecutor(new Random(1)).Execute(c.Store.View(), "q", "agent")!.DnsTtl);
    }

    [Fact]
    public void Execute_TemplateById_Throws()
    {
        var c = new Catalog();
        var t = c.Query("t", Web(), QueryTemplateOptions.NamePrefixMatch);
        Assert.Throws<PreparedQueryException>(() => new PreparedQueryExecutor(new Random(1)).Execute(c.Store.View(), t.ID, "agent"));
    }
}
