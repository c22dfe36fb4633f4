using Mesh.State.Commands;
using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State.Tests.Catalog;

public class CatalogTests
{
    private static CatalogRegisterCommand Register(string node, string? service = null, string? id = null, string status = HealthStatus.Passing,
        params string[] tags) =>
        new(new Node { Name = node, Address = "10.0.0.1" },
            service is null ? null : new ServiceInstance { Node = node, ID = id ?? service, Service = service, Port = 80, Tags = [.. tags] },
            service is null ? [] : [new HealthCheck { Node = node, CheckID = "chk-" + (id ?? service), ServiceID = id ?? service, Status = status }],
            false);

    [Fact]
    public void Register_ServiceCheck_TakesTheServiceNameAndTags()
    {
        var f = new StoreFixture();
        Assert.True(f.Apply(Register("a", "web", tags: ["v1"])).Ok);
        var check = f.Store.View().ServiceChecks("web").Checks.Single();
        Assert.Equal("web", check.ServiceName);
        Assert.Equal(new[] { "v1" }, check.ServiceTags.ToArray());
    }

    [Fact]
    public void Register_CheckForAnUnknownService_IsRefused()
    {
        var f = new StoreFixture();
        var r = f.Apply(new CatalogRegisterCommand(new Node { Name = "a", Address = "10.0.0.1" }, null,
            [new HealthCheck { Node = "a", CheckID = "c", ServiceID = "nope" }], false));
        Assert.Contains("missing service registration", r.Error);
        Assert.Null(f.Store.View().GetNode("a"));
    }

    [Fact]
    public void ServiceHealth_HasNodeAndServiceChecks_NotOtherServices()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web"));
        f.Apply(Register("a", "db"));
        f.Apply(new CatalogRegisterCommand(new Node { Name = "a", Address = "10.0.0.1" }, null,
            [new HealthCheck { Node = "a", CheckID = "disk", Status = HealthStatus.Warning }], true));
        var entry = f.Store.View().ServiceHealth("web").Entries.Single();
        Assert.Equal(["chk-web", "disk"], entry.Checks.Select(c => c.CheckID).Order());
    }

    [Fact]
    public void Reregistering_Unchanged_MovesNoIndex()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web", tags: ["v1"]));
        var before = f.Store.View().ServiceHealth("web").Index;
        f.Apply(Register("a", "web", tags: ["v1"]));
        Assert.Equal(before, f.Store.View().ServiceHealth("web").Index);
    }

    [Fact]
    public void ServiceIndex_MovesOnRemoval_SoBlockingReadersSeeIt()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web", id: "w1"));
        f.Apply(Register("b", "web", id: "w2"));
        var before = f.Store.View().ServiceHealth("web").Index;
        f.Apply(new CatalogDeregisterCommand("b", "w2", null));
        var (after, entries) = f.Store.View().ServiceHealth("web");
        Assert.Single(entries);
        Assert.True(after > before, $"{before} -> {after}");
    }

    [Fact]
    public async Task ServiceHealthWatch_WakesOnANodeCheckChange_NotOnAnotherService()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web"));
        f.Apply(Register("b", "db"));
        using var ws = new WatchSet(f.Store.Watches);
        f.Store.View().ServiceHealth("web", ws);
        var wait = ws.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        f.Apply(Register("b", "db", status: HealthStatus.Critical));
        Assert.NotSame(wait, await Task.WhenAny(wait, Task.Delay(150)));
        f.Apply(new CatalogRegisterCommand(new Node { Name = "a", Address = "10.0.0.1" }, null,
            [new HealthCheck { Node = "a", CheckID = "serfHealth", Status = HealthStatus.Critical }], true));
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void DeregisterNode_RemovesServicesChecksAndItsSessions()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web"));
        f.Apply(new CatalogRegisterCommand(new Node { Name = "a", Address = "10.0.0.1" }, null,
            [new HealthCheck { Node = "a", CheckID = "serfHealth", Status = HealthStatus.Passing }], true));
        var s = f.CreateSession(node: "a");
        f.Kv(KvVerbs.Lock, "l", "v", session: s);
        f.Apply(new CatalogDeregisterCommand("a", null, null));
        var view = f.Store.View();
        Assert.Null(view.GetNode("a"));
        Assert.Empty(view.ServiceHealth("web").Entries);
        Assert.Empty(view.NodeChecks("a").Checks);
        Assert.Null(view.SessionGet(s).Session);
        Assert.Null(f.Get("l")!.Session);
    }

    [Fact]
    public void DeregisterService_RemovesItsChecks_AndSessionsTiedToThem()
    {
        var f = new StoreFixture();
        f.Apply(Register("n1", "web"));
        var id = Guid.NewGuid().ToString();
        Assert.True(f.Apply(new SessionCreateCommand(new Session
        {
            ID = id, Node = "n1", NodeChecks = [], ServiceChecks = [new ServiceCheckRef("chk-web", "")],
        })).Ok);
        f.Apply(new CatalogDeregisterCommand("n1", "web", null));
        Assert.Empty(f.Store.View().NodeChecks("n1").Checks.Where(c => c.CheckID == "chk-web"));
        Assert.Null(f.Store.View().SessionGet(id).Session);
    }

    [Fact]
    public void ConnectInstances_AreProxiesForTheServiceAndNativeInstances()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web"));
        f.Apply(new CatalogRegisterCommand(new Node { Name = "a", Address = "10.0.0.1" },
            new ServiceInstance { Node = "a", ID = "web-proxy", Service = "web-sidecar-proxy", Kind = "connect-proxy",
                ProxyJson = """{"DestinationServiceName":"web"}""" }, [], true));
        f.Apply(new CatalogRegisterCommand(new Node { Name = "b", Address = "10.0.0.2" },
            new ServiceInstance { Node = "b", ID = "web", Service = "web", ConnectJson = """{"Native":true}""" }, [], false));
        Assert.Equal(["web-proxy", "web"], f.Store.View().ConnectInstances("web").Instances.Select(i => i.Service.ID));
    }

    [Fact]
    public void CatalogServices_UnionsTags()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web", id: "w1", tags: ["v1", "x"]));
        f.Apply(Register("b", "web", id: "w2", tags: ["v2", "x"]));
        var (_, services) = f.Store.View().CatalogServices();
        Assert.Equal(["v1", "v2", "x"], services.Single(s => s.Name == "web").Tags);
    }

    [Fact]
    public void Snapshot_RoundTrip_KeepsServicesAndTheirNameIndex()
    {
        var f = new StoreFixture();
        f.Apply(Register("a", "web", tags: ["v1"]));
        using var ms = new MemoryStream();
        f.Fsm.WriteSnapshot(ms);
        var g = new StoreFixture();
        ms.Position = 0;
        g.Log.Restore(ms, f.Store.Index);
        var entry = g.Store.View().ServiceHealth("web").Entries.Single();
        Assert.Equal("a", entry.Node.Name);
        Assert.Equal(new[] { "v1" }, entry.Service.Tags.ToArray());
        Assert.Equal(f.Store.View().ServiceHealth("web").Index, g.Store.View().ServiceHealth("web").Index);
    }
}
