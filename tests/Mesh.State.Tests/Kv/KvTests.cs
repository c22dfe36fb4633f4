using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.State.Tests.Kv;

public class KvTests
{
    [Fact]
    public void Set_NewKey_StampsCreateAndModifyIndex()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var e = f.Get("a")!;
        Assert.Equal(f.Store.Index, e.CreateIndex);
        Assert.Equal(e.CreateIndex, e.ModifyIndex);
        Assert.Equal("1", StoreFixture.Text(e));
    }

    [Fact]
    public void Set_ExistingKey_KeepsCreateIndexAndBumpsModifyIndex()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var first = f.Get("a")!;
        f.Set("a", "2");
        var second = f.Get("a")!;
        Assert.Equal(first.CreateIndex, second.CreateIndex);
        Assert.True(second.ModifyIndex > first.ModifyIndex);
    }

    [Fact]
    public void Set_SameValueAndFlags_DoesNotMoveAnyIndex()
    {
        var f = new StoreFixture();
        f.Set("a", "1", flags: 7);
        var before = f.Store.View();
        f.Set("a", "1", flags: 7);
        var after = f.Store.View();
        Assert.Equal(before.KvGet("a").Entry!.ModifyIndex, after.KvGet("a").Entry!.ModifyIndex);
        Assert.Equal(before.TableIndex(TableNames.Kvs), after.TableIndex(TableNames.Kvs));
        Assert.True(after.Index > before.Index, "the log index is still consumed");
    }

    [Fact]
    public void Set_DifferentFlags_IsAChange()
    {
        var f = new StoreFixture();
        f.Set("a", "1", flags: 1);
        var before = f.Get("a")!.ModifyIndex;
        f.Set("a", "1", flags: 2);
        Assert.True(f.Get("a")!.ModifyIndex > before);
    }

    [Fact]
    public void Cas_ZeroIndex_CreatesOnlyWhenAbsent()
    {
        var f = new StoreFixture();
        Assert.True(f.Kv(KvVerbs.Cas, "a", "1", index: 0).Ok);
        Assert.False(f.Kv(KvVerbs.Cas, "a", "2", index: 0).Ok);
        Assert.Equal("1", StoreFixture.Text(f.Get("a")));
    }

    [Fact]
    public void Cas_MatchingIndex_Writes_StaleIndex_Refuses()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var idx = f.Get("a")!.ModifyIndex;
        Assert.False(f.Kv(KvVerbs.Cas, "a", "x", index: idx + 100).Ok);
        Assert.True(f.Kv(KvVerbs.Cas, "a", "2", index: idx).Ok);
        Assert.False(f.Kv(KvVerbs.Cas, "a", "3", index: idx).Ok);
        Assert.Equal("2", StoreFixture.Text(f.Get("a")));
    }

    [Fact]
    public void Cas_NonZeroIndexOnMissingKey_Refuses()
    {
        var f = new StoreFixture();
        Assert.False(f.Kv(KvVerbs.Cas, "missing", "1", index: 5).Ok);
        Assert.Null(f.Get("missing"));
    }

    [Fact]
    public void Delete_LeavesTombstone_SoPrefixIndexDoesNotGoBackwards()
    {
        var f = new StoreFixture();
        f.Set("other", "x");
        f.Set("p/a", "1");
        f.Set("p/b", "2");
        f.Kv(KvVerbs.Delete, "p/b");
        var deleteIndex = f.Store.Index;
        var (index, entries) = f.Store.View().KvList("p/");
        Assert.Single(entries);
        Assert.Equal(deleteIndex, index);
    }

    [Fact]
    public void Delete_MissingKey_ChangesNoIndex()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var before = f.Store.View().TableIndex(TableNames.Kvs, TableNames.Tombstones);
        f.Kv(KvVerbs.Delete, "nope");
        Assert.Equal(before, f.Store.View().TableIndex(TableNames.Kvs, TableNames.Tombstones));
    }

    [Fact]
    public void ReapTombstones_RemovesOnlyThoseAtOrBelowIndex_AndPrefixFallsBackToTableIndex()
    {
        var f = new StoreFixture();
        f.Set("p/a", "1");
        f.Kv(KvVerbs.Delete, "p/a");
        var first = f.Store.Index;
        f.Set("q/a", "1");
        f.Kv(KvVerbs.Delete, "q/a");
        Assert.True(f.Apply(new TombstoneReapCommand(first)).Ok);
        var tombstones = f.Store.View().Tombstones().Select(t => t.Key).ToList();
        Assert.Equal(["q/a"], tombstones);
        // With its tombstone gone, an empty prefix reports the table index, which is never lower.
        Assert.True(f.Store.View().KvList("p/").Index >= first);
    }

    [Fact]
    public void DeleteCas_MissingKeyCountsAsDeleted_StaleIndexRefuses()
    {
        var f = new StoreFixture();
        Assert.True(f.Kv(KvVerbs.DeleteCas, "none", index: 3).Ok);
        f.Set("a", "1");
        var idx = f.Get("a")!.ModifyIndex;
        Assert.False(f.Kv(KvVerbs.DeleteCas, "a", index: idx - 1).Ok);
        Assert.NotNull(f.Get("a"));
        Assert.True(f.Kv(KvVerbs.DeleteCas, "a", index: idx).Ok);
        Assert.Null(f.Get("a"));
    }

    [Fact]
    public void DeleteTree_RemovesOnlyThePrefix()
    {
        var f = new StoreFixture();
        f.Set("web/a", "1");
        f.Set("web/b/c", "2");
        f.Set("webby", "3");
        f.Kv(KvVerbs.DeleteTree, "web/");
        Assert.Empty(f.Store.View().KvList("web/").Entries);
        Assert.NotNull(f.Get("webby"));
    }

    [Fact]
    public void Keys_WithSeparator_FoldsSubtrees()
    {
        var f = new StoreFixture();
        f.Set("web/bar", "1");
        f.Set("web/subdir/a", "2");
        f.Set("web/subdir/b", "3");
        f.Set("web/zed", "4");
        var (_, keys) = f.Store.View().KvKeys("web/", "/");
        Assert.Equal(["web/bar", "web/subdir/", "web/zed"], keys);
    }

    [Fact]
    public void List_ReturnsKeysInOrdinalOrder()
    {
        var f = new StoreFixture();
        foreach (var k in new[] { "b", "a/2", "a/10", "a/1", "A" }) f.Set(k, k);
        Assert.Equal(["A", "a/1", "a/10", "a/2", "b"], f.Store.View().KvList("").Entries.Select(e => e.Key));
    }

    [Fact]
    public void EmptyValue_IsStoredAsNull()
    {
        var f = new StoreFixture();
        f.Apply(new KvCommand(new KvOp(KvVerbs.Set, "e", [])));
        Assert.Null(f.Get("e")!.Value);
    }
}
