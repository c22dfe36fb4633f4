using Mesh.Agent.Connect;
using Mesh.Ca.Identity;
using Mesh.Connect.Entries;
using Mesh.Consensus.Dev;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Fsm;
using Mesh.State.Tables;

namespace Mesh.Agent.Tests.Connect;

/// <summary>The authorizer's view of the intentions: rebuilt once per change, by one caller, seeing every write.</summary>
public sealed class IntentionAuthorizerTests
{
    private readonly StateStore _store = new();
    private readonly InMemoryLog _log;

    public IntentionAuthorizerTests() => _log = new InMemoryLog(new StateMachine(_store), "127.0.0.1:8300");

    private async Task WriteAsync(string json)
    {
        var entry = EntryValidator.Normalize(EntryCodec.FromStored(json));
        var row = new ConfigEntryRow { Kind = entry.Kind, Name = entry.Name, Json = EntryCodec.ToJson(entry) };
        var result = await _log.ApplyAsync(CommandCodec.Encode(new ConfigEntrySetCommand(row, null, null) with { Now = DateTime.UtcNow }), CancellationToken.None);
        Assert.True(((CommandResult)result.Response!).Ok);
    }

    private static SpiffeId Web => SpiffeId.Service("td", "dc1", "web");

    [Fact]
    public async Task Current_UnchangedEntries_SameSet_WriteSeenAtOnce()
    {
        await WriteAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"}]}""");
        var authorizer = new IntentionAuthorizer("");
        var first = authorizer.Current(_store.View());
        Assert.Same(first, authorizer.Current(_store.View()));
        Assert.True(authorizer.Authorize(_store.View(), Web, "db").Authorized);

        await WriteAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"deny"}]}""");
        Assert.False(authorizer.Authorize(_store.View(), Web, "db").Authorized);
        Assert.NotSame(first, authorizer.Current(_store.View()));
    }

    [Fact]
    public async Task Current_EntryOfAnotherKindChanges_KeepsTheRulesOfUnchangedEntries()
    {
        await WriteAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"}]}""");
        var authorizer = new IntentionAuthorizer("");
        var before = authorizer.Current(_store.View()).Exact("web", "db");
        await WriteAsync("""{"Kind":"service-defaults","Name":"db","Protocol":"http"}""");
        // A new set (the table moved), built from the same rules: the unchanged entry was not read again.
        Assert.Same(before, authorizer.Current(_store.View()).Exact("web", "db"));
    }

    [Fact]
    public async Task Current_ManyCallersAfterAWrite_AllGetTheSameNewSet()
    {
        await WriteAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"}]}""");
        var authorizer = new IntentionAuthorizer("");
        authorizer.Current(_store.View());
        await WriteAsync("""{"Kind":"service-intentions","Name":"api","Sources":[{"Name":"web","Action":"deny"}]}""");
        var view = _store.View();
        using var start = new Barrier(8);
        // Dedicated threads: eight blocked pool threads on two cores would wait for the pool to grow.
        var sets = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return authorizer.Current(view);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        Assert.All(sets, s => Assert.Same(sets[0], s));
        Assert.Equal(2, sets[0].All.Count);
    }
}
