using Mesh.State.Commands;
using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State.Tests.Connect;

public sealed class ConfigEntryStateTests
{
    private static ConfigEntryRow Entry(string kind, string name, string json = "{}") => new() { Kind = kind, Name = name, Json = json };

    [Fact]
    public void Set_Get_List_ByKind()
    {
        var f = new StoreFixture();
        Assert.True(f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"Protocol\":\"http\"}"), null)).Ok);
        f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "db"), null));
        f.Apply(new ConfigEntrySetCommand(Entry("service-resolver", "web"), null));
        var view = f.Store.View();
        Assert.Equal("{\"Protocol\":\"http\"}", view.ConfigEntryGet("service-defaults", "web").Entry!.Json);
        Assert.Equal(["db", "web"], view.ConfigEntryList("service-defaults").Entries.Select(e => e.Name));
        Assert.Equal(3, view.ConfigEntryList().Entries.Count);
        Assert.Null(view.ConfigEntryGet("service-router", "web").Entry);
    }

    [Fact]
    public void Cas_ZeroMeansAbsent_StaleIndexRefused()
    {
        var f = new StoreFixture();
        Assert.True(f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"a\":1}"), 0)).Ok);
        Assert.False(f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"a\":2}"), 0)).Ok);
        var index = f.Store.View().ConfigEntryGet("service-defaults", "web").Entry!.ModifyIndex;
        Assert.False(f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"a\":2}"), index + 1)).Ok);
        Assert.True(f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"a\":2}"), index)).Ok);
        var now = f.Store.View().ConfigEntryGet("service-defaults", "web").Entry!;
        Assert.False(f.Apply(new ConfigEntryDeleteCommand("service-defaults", "web", index)).Ok);
        Assert.True(f.Apply(new ConfigEntryDeleteCommand("service-defaults", "web", now.ModifyIndex)).Ok);
        Assert.Null(f.Store.View().ConfigEntryGet("service-defaults", "web").Entry);
    }

    [Fact]
    public void UnchangedWrite_MovesNoIndex_KeepsCreateIndex()
    {
        var f = new StoreFixture();
        f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"a\":1}"), null));
        var first = f.Store.View().ConfigEntryGet("service-defaults", "web");
        f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"a\":1}"), null));
        Assert.Equal(first.Index, f.Store.View().ConfigEntryGet("service-defaults", "web").Index);
        f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"a\":2}"), null));
        var changed = f.Store.View().ConfigEntryGet("service-defaults", "web").Entry!;
        Assert.Equal(first.Entry!.CreateIndex, changed.CreateIndex);
        Assert.True(changed.ModifyIndex > first.Entry.ModifyIndex);
    }

    [Fact]
    public async Task KindWatch_FiresOnAnEntryOfTheKind_NotOnAnother()
    {
        var f = new StoreFixture();
        var ws = new WatchSet(f.Store.Watches);
        f.Store.View().ConfigEntryList("service-router", ws);
        var fired = ws.WaitAsync(TimeSpan.FromMilliseconds(300), CancellationToken.None);
        f.Apply(new ConfigEntrySetCommand(Entry("service-resolver", "web"), null));
        Assert.False(await fired);
        var ws2 = new WatchSet(f.Store.Watches);
        f.Store.View().ConfigEntryList("service-router", ws2);
        var fired2 = ws2.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        f.Apply(new ConfigEntrySetCommand(Entry("service-router", "web"), null));
        Assert.True(await fired2);
    }

    [Fact]
    public void Snapshot_RoundTrip_KeepsEntries()
    {
        var f = new StoreFixture();
        f.Apply(new ConfigEntrySetCommand(Entry("proxy-defaults", "global", "{\"Config\":{\"protocol\":\"http\"}}"), null));
        var image = new MemoryStream();
        f.Fsm.WriteSnapshot(image);
        var g = new StoreFixture();
        g.Fsm.Restore(new MemoryStream(image.ToArray()));
        Assert.Equal("{\"Config\":{\"protocol\":\"http\"}}", g.Store.View().ConfigEntryGet("proxy-defaults", "global").Entry!.Json);
    }

    [Fact]
    public void GraphIndex_TableMovedSinceValidation_RefusedUnapplied()
    {
        var f = new StoreFixture();
        f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"Protocol\":\"http\"}"), null));
        var seen = f.Store.View().ConfigEntryList().Index;
        // Another write lands between validation and apply.
        f.Apply(new ConfigEntrySetCommand(Entry("service-defaults", "web", "{\"Protocol\":\"tcp\"}"), null));
        var moved = f.Store.View().ConfigEntryList().Index;

        var set = f.Apply(new ConfigEntrySetCommand(Entry("service-router", "web"), null, seen));
        Assert.False(set.Ok);
        Assert.Equal(ConfigEntryErrors.GraphChanged, set.Error);
        var delete = f.Apply(new ConfigEntryDeleteCommand("service-defaults", "web", null, seen));
        Assert.Equal(ConfigEntryErrors.GraphChanged, delete.Error);
        Assert.Null(f.Store.View().ConfigEntryGet("service-router", "web").Entry);
        Assert.NotNull(f.Store.View().ConfigEntryGet("service-defaults", "web").Entry);
        Assert.Equal(moved, f.Store.View().ConfigEntryList().Index);

        // Validated against the current graph, it applies.
        Assert.True(f.Apply(new ConfigEntrySetCommand(Entry("service-router", "web"), null, moved)).Ok);
        Assert.True(f.Apply(new ConfigEntryDeleteCommand("service-router", "web", null, f.Store.View().ConfigEntryList().Index)).Ok);
    }
}
