using Mesh.Consensus;
using Mesh.State.Commands;

namespace Mesh.State.Tests.Fsm;

public class StateMachineTests
{
    [Fact]
    public void Apply_UndecodableEntry_ReturnsAnErrorAndChangesNothing()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var kv = f.Store.View().KvList("").Entries.Count;
        var result = (CommandResult)f.Fsm.Apply(new LogEntry(f.Store.Index + 1, 1, "{garbage"u8.ToArray()))!;
        Assert.False(result.Ok);
        Assert.Contains("undecodable", result.Error);
        Assert.Equal(kv, f.Store.View().KvList("").Entries.Count);
    }

    [Fact]
    public async Task DevLog_AssignsConsecutiveIndexes()
    {
        var f = new StoreFixture();
        var start = f.Log.AppliedIndex;
        var tasks = Enumerable.Range(0, 50).Select(i => Task.Run(() => f.Set("k" + i, "v"))).ToList();
        await Task.WhenAll(tasks);
        Assert.Equal(start + 50, f.Log.AppliedIndex);
        Assert.Equal(f.Log.AppliedIndex, f.Store.Index);
    }

    [Fact]
    public void Codec_RoundTripsEveryCommandKind()
    {
        Command[] commands =
        [
            new KvCommand(new KvOp(KvVerbs.Lock, "k", [1, 2], 3, 4, "s")),
            new TxnCommand([new KvOp(KvVerbs.Set, "a"), new KvOp(KvVerbs.DeleteTree, "p/")]),
            new SessionDestroyCommand("id"),
            new TombstoneReapCommand(7),
        ];
        foreach (var c in commands)
        {
            var back = CommandCodec.Decode(CommandCodec.Encode(c));
            Assert.Equal(c.GetType(), back.GetType());
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize<object>(c), System.Text.Json.JsonSerializer.Serialize<object>(back));
        }
    }
}
