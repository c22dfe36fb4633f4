using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.State.Tests.Kv;

public class TxnTests
{
    [Fact]
    public void Txn_AllSucceed_AppliesEveryOpAtOneIndex()
    {
        var f = new StoreFixture();
        var r = f.Apply(new TxnCommand([
            new KvOp(KvVerbs.Set, "a", StoreFixture.Bytes("1")),
            new KvOp(KvVerbs.Set, "b", StoreFixture.Bytes("2")),
            new KvOp(KvVerbs.Get, "a"),
        ]));
        Assert.True(r.Ok);
        Assert.Equal(3, r.Results!.Count);
        Assert.Null(r.Results[0].KV.Value);
        Assert.Equal("1", StoreFixture.Text(r.Results[2].KV));
        Assert.Equal(f.Get("a")!.ModifyIndex, f.Get("b")!.ModifyIndex);
    }

    [Fact]
    public void Txn_OneCheckFails_RollsBackEverything_AndReportsEachFailure()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var kvIndex = f.Store.View().TableIndex(TableNames.Kvs);
        var r = f.Apply(new TxnCommand([
            new KvOp(KvVerbs.Set, "b", StoreFixture.Bytes("2")),
            new KvOp(KvVerbs.CheckIndex, "a", Index: 999),
            new KvOp(KvVerbs.Delete, "a"),
            new KvOp(KvVerbs.Get, "missing"),
        ]));
        Assert.False(r.Ok);
        Assert.Equal([1, 3], r.Errors!.Select(e => e.OpIndex));
        Assert.Contains("current modify index", r.Errors![0].What);
        Assert.Null(f.Get("b"));
        Assert.NotNull(f.Get("a"));
        Assert.Equal(kvIndex, f.Store.View().TableIndex(TableNames.Kvs));
    }

    [Fact]
    public void Txn_LaterOpsSeeEarlierWrites()
    {
        var f = new StoreFixture();
        var r = f.Apply(new TxnCommand([
            new KvOp(KvVerbs.Set, "a", StoreFixture.Bytes("1")),
            new KvOp(KvVerbs.CheckNotExists, "b"),
            new KvOp(KvVerbs.Cas, "b", StoreFixture.Bytes("2"), Index: 0),
            new KvOp(KvVerbs.GetTree, ""),
        ]));
        Assert.True(r.Ok, string.Join(";", r.Errors?.Select(e => e.What) ?? []));
        Assert.Equal(["a", "b"], r.Results!.Skip(2).Select(x => x.KV.Key));
    }

    [Fact]
    public void ReadTxn_RefusesWriteVerbs()
    {
        var f = new StoreFixture();
        Assert.Throws<ArgumentException>(() => f.Store.View().ReadTxn([new KvOp(KvVerbs.Set, "a")]));
    }

    [Fact]
    public void ReadTxn_CheckSession_ComparesHolder()
    {
        var f = new StoreFixture();
        var s = f.CreateSession();
        Assert.True(f.Kv(KvVerbs.Lock, "l", "v", session: s).Ok);
        var view = f.Store.View();
        Assert.True(view.ReadTxn([new KvOp(KvVerbs.CheckSession, "l", Session: s)]).Ok);
        var bad = view.ReadTxn([new KvOp(KvVerbs.CheckSession, "l", Session: "other")]);
        Assert.False(bad.Ok);
        Assert.Contains("failed session check", bad.Errors![0].What);
    }
}
