using System.Collections.Immutable;
using Mesh.State.Commands;
using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State.Tests.Connect;

public sealed class CaStateTests
{
    private static CaConfiguration Config(string json = "{}") => new()
    {
        ClusterID = "11111111-2222-3333-4444-555555555555",
        ConfigJson = json,
        ProviderState = ImmutableDictionary<string, string>.Empty.Add("private_key", "KEY"),
    };

    private static CaRoot Root(string id, bool active) => new() { ID = id, RootCert = "PEM-" + id, Active = active, Name = "root " + id };

    [Fact]
    public void CaSet_FirstWrite_StoresConfigAndRootsWithIndexes()
    {
        var f = new StoreFixture();
        Assert.True(f.Apply(new CaSetCommand(Config(), [Root("a", true)], 0)).Ok);
        var (configIndex, config) = f.Store.View().CaConfig();
        var (rootsIndex, roots) = f.Store.View().CaRoots();
        Assert.Equal(f.Store.Index, configIndex);
        Assert.Equal(f.Store.Index, rootsIndex);
        Assert.Equal(f.Store.Index, config!.CreateIndex);
        Assert.Equal("a", Assert.Single(roots).ID);
        Assert.Equal(f.Store.Index, roots[0].ModifyIndex);
    }

    [Fact]
    public void CaSet_StaleCasIndex_ChangesNothing()
    {
        var f = new StoreFixture();
        f.Apply(new CaSetCommand(Config(), [Root("a", true)], 0));
        var index = f.Store.View().CaConfig().Config!.ModifyIndex;
        Assert.False(f.Apply(new CaSetCommand(Config("{\"x\":1}"), [Root("b", true)], 0)).Ok);
        Assert.False(f.Apply(new CaSetCommand(Config("{\"x\":1}"), [Root("b", true)], index + 5)).Ok);
        Assert.Equal("a", Assert.Single(f.Store.View().CaRoots().Roots).ID);
        Assert.True(f.Apply(new CaSetCommand(Config("{\"x\":1}"), [Root("a", false), Root("b", true)], index)).Ok);
        Assert.Equal(["a", "b"], f.Store.View().CaRoots().Roots.Select(r => r.ID));
    }

    [Fact]
    public void CaSet_Unchanged_MovesNoIndex_AndKeepsUnchangedRootsIndexes()
    {
        var f = new StoreFixture();
        f.Apply(new CaSetCommand(Config(), [Root("a", true)], null));
        var before = f.Store.View();
        f.Apply(new CaSetCommand(Config(), [Root("a", true)], null));
        Assert.Equal(before.CaRoots().Index, f.Store.View().CaRoots().Index);
        Assert.Equal(before.CaConfig().Index, f.Store.View().CaConfig().Index);
        f.Apply(new CaSetCommand(Config(), [Root("a", false), Root("b", true)], null));
        var roots = f.Store.View().CaRoots().Roots;
        Assert.Equal(before.CaRoots().Roots[0].CreateIndex, roots[0].CreateIndex);
        Assert.True(roots[0].ModifyIndex > before.CaRoots().Roots[0].ModifyIndex);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void CaSet_NotExactlyOneActiveRoot_Refused(int active)
    {
        var f = new StoreFixture();
        var roots = Enumerable.Range(0, 2).Select(i => Root("r" + i, i < active)).ToList();
        var result = f.Apply(new CaSetCommand(Config(), roots, null));
        Assert.False(result.Ok);
        Assert.Contains("exactly one CA root must be active", result.Error);
        Assert.Null(f.Store.View().CaConfig().Config);
    }

    [Fact]
    public async Task RootsWatch_FiresOnRotation()
    {
        var f = new StoreFixture();
        f.Apply(new CaSetCommand(Config(), [Root("a", true)], null));
        var ws = new WatchSet(f.Store.Watches);
        f.Store.View().CaRoots(ws);
        var fired = ws.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        f.Apply(new CaSetCommand(Config(), [Root("a", false), Root("b", true)], null));
        Assert.True(await fired);
    }

    [Fact]
    public void Snapshot_RoundTrip_KeepsCa()
    {
        var f = new StoreFixture();
        f.Apply(new CaSetCommand(Config("{\"LeafCertTTL\":\"72h\"}"), [Root("a", false), Root("b", true) with { IntermediateCerts = ["X"] }], null));
        var image = new MemoryStream();
        f.Fsm.WriteSnapshot(image);
        var g = new StoreFixture();
        g.Fsm.Restore(new MemoryStream(image.ToArray()));
        var (_, config) = g.Store.View().CaConfig();
        Assert.Equal("{\"LeafCertTTL\":\"72h\"}", config!.ConfigJson);
        Assert.Equal("KEY", config.ProviderState["private_key"]);
        Assert.Equal(["X"], g.Store.View().CaRoots().Roots.Single(r => r.Active).IntermediateCerts.ToArray());
    }
}
