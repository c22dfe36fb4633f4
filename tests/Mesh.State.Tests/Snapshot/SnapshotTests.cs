using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.State.Tests.Snapshot;

public class SnapshotTests
{
    [Fact]
    public void Snapshot_RoundTrip_RestoresRowsIndexesAndLockOwnership()
    {
        var f = new StoreFixture();
        f.Set("a", "1", flags: 9);
        f.Set("b/c", "2");
        f.Kv(KvVerbs.Delete, "b/c");
        var s = f.CreateSession();
        f.Kv(KvVerbs.Lock, "locked", "v", session: s);

        using var ms = new MemoryStream();
        f.Fsm.WriteSnapshot(ms);
        var g = new StoreFixture();
        ms.Position = 0;
        g.Log.Restore(ms, f.Store.Index);

        var (a, b) = (f.Store.View(), g.Store.View());
        Assert.Equal(a.Index, b.Index);
        Assert.Equal(a.TableIndex(TableNames.Kvs), b.TableIndex(TableNames.Kvs));
        Assert.Equal(a.KvList("").Entries.Select(e => (e.Key, e.Flags, e.ModifyIndex, e.Session)),
            b.KvList("").Entries.Select(e => (e.Key, e.Flags, e.ModifyIndex, e.Session)));
        Assert.Equal(a.Tombstones().Select(t => t.Key), b.Tombstones().Select(t => t.Key));
        Assert.Equal(a.KvList("b/").Index, b.KvList("b/").Index);
        Assert.NotNull(b.SessionGet(s).Session);

        // The locks-by-session index is rebuilt: destroying the session in the restored store releases the lock.
        g.Apply(new SessionDestroyCommand(s));
        Assert.Null(g.Get("locked")!.Session);
        // And the log continues after the snapshot's index.
        Assert.Equal(f.Store.Index + 1, g.Store.Index);
    }

    [Fact]
    public async Task Restore_WakesEveryWatcher()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        using var ws = new Mesh.State.Watch.WatchSet(f.Store.Watches);
        f.Store.View().KvGet("a", ws);
        var wait = ws.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        using var ms = new MemoryStream();
        f.Fsm.WriteSnapshot(ms);
        ms.Position = 0;
        f.Fsm.Restore(ms);
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Restore_Garbage_ThrowsInvalidData_AndKeepsTheState()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        Assert.Throws<InvalidDataException>(() => f.Fsm.Restore(new MemoryStream("not a snapshot"u8.ToArray())));
        Assert.NotNull(f.Get("a"));
    }
}
