using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.State.Tests.Sessions;

public class SessionTests
{
    [Fact]
    public void Create_UnknownNode_IsRefused()
    {
        var f = new StoreFixture();
        var r = f.Apply(new SessionCreateCommand(new Session { ID = "x", Node = "ghost" }));
        Assert.False(r.Ok);
        Assert.Contains("missing node registration", r.Error);
    }

    [Fact]
    public void Create_CriticalCheck_IsRefused()
    {
        var f = new StoreFixture();
        f.Apply(new RegisterNodeCommand(new Node { Name = "n1", Address = "127.0.0.1" },
            [new HealthCheck { Node = "n1", CheckID = "disk", Status = HealthStatus.Critical }]));
        var r = f.Apply(new SessionCreateCommand(new Session { ID = "x", Node = "n1", NodeChecks = ["disk"] }));
        Assert.Contains("critical", r.Error);
    }

    [Fact]
    public void Lock_FirstAcquire_SetsSessionAndLockIndex_ReacquireDoesNotCount()
    {
        var f = new StoreFixture();
        var s = f.CreateSession();
        Assert.True(f.Kv(KvVerbs.Lock, "l", "v1", session: s).Ok);
        Assert.Equal((s, 1UL), (f.Get("l")!.Session, f.Get("l")!.LockIndex));
        Assert.True(f.Kv(KvVerbs.Lock, "l", "v2", session: s).Ok);
        Assert.Equal(1UL, f.Get("l")!.LockIndex);
        Assert.Equal("v2", StoreFixture.Text(f.Get("l")));
    }

    [Fact]
    public void Lock_HeldByAnother_Fails_UntilReleased()
    {
        var f = new StoreFixture();
        var a = f.CreateSession();
        var b = f.CreateSession();
        Assert.True(f.Kv(KvVerbs.Lock, "l", "a", session: a).Ok);
        Assert.False(f.Kv(KvVerbs.Lock, "l", "b", session: b).Ok);
        Assert.False(f.Kv(KvVerbs.Unlock, "l", "b", session: b).Ok);
        Assert.True(f.Kv(KvVerbs.Unlock, "l", "a", session: a).Ok);
        Assert.Null(f.Get("l")!.Session);
        Assert.True(f.Kv(KvVerbs.Lock, "l", "b", session: b).Ok);
        Assert.Equal(2UL, f.Get("l")!.LockIndex);
    }

    [Fact]
    public void Lock_UnknownSession_IsAnError()
    {
        var f = new StoreFixture();
        var r = f.Kv(KvVerbs.Lock, "l", "v", session: "nope");
        Assert.Contains("invalid session", r.Error ?? string.Join(";", r.Errors?.Select(e => e.What) ?? []));
    }

    [Fact]
    public void Set_OnLockedKey_KeepsTheHolder()
    {
        var f = new StoreFixture();
        var s = f.CreateSession();
        f.Kv(KvVerbs.Lock, "l", "v", session: s);
        f.Set("l", "overwritten");
        Assert.Equal(s, f.Get("l")!.Session);
    }

    [Fact]
    public void Destroy_ReleaseBehavior_ReleasesLocksAndStartsLockDelay()
    {
        var f = new StoreFixture();
        var s = f.CreateSession(lockDelay: TimeSpan.FromSeconds(10));
        f.Kv(KvVerbs.Lock, "l", "v", session: s);
        Assert.True(f.Apply(new SessionDestroyCommand(s)).Ok);
        var e = f.Get("l")!;
        Assert.Null(e.Session);
        Assert.Equal("v", StoreFixture.Text(e));
        var view = f.Store.View();
        Assert.Equal(f.Now.AddSeconds(10), view.KvLockDelay("l", f.Now));
        Assert.Null(view.KvLockDelay("l", f.Now.AddSeconds(11)));
        Assert.Null(view.SessionGet(s).Session);
    }

    [Fact]
    public void Destroy_DeleteBehavior_DeletesLockedKeysOnly()
    {
        var f = new StoreFixture();
        var s = f.CreateSession(SessionBehavior.Delete);
        f.Kv(KvVerbs.Lock, "l1", "v", session: s);
        f.Kv(KvVerbs.Lock, "l2", "v", session: s);
        f.Set("free", "v");
        f.Apply(new SessionDestroyCommand(s));
        Assert.Null(f.Get("l1"));
        Assert.Null(f.Get("l2"));
        Assert.NotNull(f.Get("free"));
    }

    [Fact]
    public void Destroy_UnknownSession_IsIdempotent()
    {
        var f = new StoreFixture();
        Assert.True(f.Apply(new SessionDestroyCommand("nope")).Ok);
    }

    [Fact]
    public void CheckTurningCritical_InvalidatesSessionsTiedToIt()
    {
        var f = new StoreFixture();
        var s = f.CreateSession();
        f.Kv(KvVerbs.Lock, "l", "v", session: s);
        f.Apply(new RegisterNodeCommand(new Node { Name = "n1", Address = "127.0.0.1" },
            [new HealthCheck { Node = "n1", CheckID = "serfHealth", Status = HealthStatus.Critical }]));
        Assert.Null(f.Store.View().SessionGet(s).Session);
        Assert.Null(f.Get("l")!.Session);
    }

    [Fact]
    public void SessionsOfNode_ListsOnlyThatNode()
    {
        var f = new StoreFixture();
        f.Apply(new RegisterNodeCommand(new Node { Name = "n2", Address = "127.0.0.2" },
            [new HealthCheck { Node = "n2", CheckID = "serfHealth", Status = HealthStatus.Passing }]));
        var a = f.CreateSession();
        f.CreateSession(node: "n2");
        Assert.Equal([a], f.Store.View().SessionsOfNode("n1").Sessions.Select(s => s.ID));
    }

    [Fact]
    public void RegisterNode_Unchanged_DoesNotMoveTheNodesIndex()
    {
        var f = new StoreFixture();
        var before = f.Store.View().TableIndex(TableNames.Nodes, TableNames.Checks);
        f.Apply(new RegisterNodeCommand(new Node { Name = "n1", Address = "127.0.0.1" },
            [new HealthCheck { Node = "n1", CheckID = "serfHealth", Status = HealthStatus.Passing }]));
        Assert.Equal(before, f.Store.View().TableIndex(TableNames.Nodes, TableNames.Checks));
    }

    [Fact]
    public void LockDelay_LongerThanTheMaximum_IsAppliedAsTheMaximum()
    {
        var f = new StoreFixture();
        var s = f.CreateSession(lockDelay: TimeSpan.FromMinutes(5));
        f.Kv(KvVerbs.Lock, "l", "v", session: s);
        f.Apply(new SessionDestroyCommand(s));
        Assert.Equal(f.Now.AddSeconds(60), f.Store.View().KvLockDelay("l", f.Now));
    }

    [Fact]
    public void ExpiredLockDelays_AreDropped_WhenNewOnesAreAdded()
    {
        var f = new StoreFixture();
        for (var i = 0; i < 20; i++)
        {
            var s = f.CreateSession(lockDelay: TimeSpan.FromSeconds(1));
            f.Kv(KvVerbs.Lock, "k" + i, "v", session: s);
            f.Apply(new SessionDestroyCommand(s));
            f.Now = f.Now.AddSeconds(2);
        }
        Assert.Single(f.Store.View().Root.LockDelays);
    }
}
