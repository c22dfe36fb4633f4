using Mesh.Agent.Connect;
using Mesh.Agent.Server;
using Mesh.Connect.Entries;
using Mesh.Consensus;
using Mesh.Consensus.Dev;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Fsm;
using Mesh.State.Tables;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Agent.Tests.Connect;

/// <summary>
/// The intention writer's read-modify-write against another writer that lands between its read and its write: the
/// check-and-set fails, the writer reads again, and neither write is lost.
/// </summary>
public sealed class IntentionWriterTests
{
    /// <summary>A log that, once armed, lets another write land just before the next command it is handed.</summary>
    private sealed class RacingLog(IReplicatedLog inner) : IReplicatedLog
    {
        private Func<Task>? _before;

        public int Intercepted { get; private set; }

        public void BeforeNext(Func<Task> write) => _before = write;

        public async Task<ApplyResult> ApplyAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _before, null) is { } before)
            {
                Intercepted++;
                await before();
            }
            return await inner.ApplyAsync(command, cancellationToken);
        }

        public Task VerifyLeaderAsync(CancellationToken cancellationToken) => inner.VerifyLeaderAsync(cancellationToken);
        public LeadershipState Leadership => inner.Leadership;
        public IReadOnlyList<string> Peers => inner.Peers;
        public ulong AppliedIndex => inner.AppliedIndex;
        public IReadOnlyDictionary<string, string> Stats => inner.Stats;
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class Fixture
    {
        public Fixture()
        {
            Store = new StateStore();
            Inner = new InMemoryLog(new StateMachine(Store), "127.0.0.1:8300");
            Log = new RacingLog(Inner);
            var entries = new ConfigEntryWriter(Store, new StateWriter(Log, TimeProvider.System), "dc1", NullLogger<ConfigEntryWriter>.Instance);
            Writer = new IntentionWriter(Store, entries, TimeProvider.System, NullLogger<IntentionWriter>.Instance);
            Other = new StateWriter(Inner, TimeProvider.System);
        }

        public StateStore Store { get; }
        public InMemoryLog Inner { get; }
        public RacingLog Log { get; }
        public IntentionWriter Writer { get; }

        /// <summary>Writes past the intention writer, as another agent's write would arrive.</summary>
        public StateWriter Other { get; }

        public Task WriteBehindItsBackAsync(string json)
        {
            var entry = EntryValidator.Normalize(EntryCodec.FromStored(json));
            var row = new ConfigEntryRow { Kind = entry.Kind, Name = entry.Name, Json = EntryCodec.ToJson(entry) };
            return Other.ApplyAsync(new ConfigEntrySetCommand(row, null, null), CancellationToken.None);
        }

        public IReadOnlyList<string> Sources(string destination)
        {
            var (_, row) = Store.View().ConfigEntryGet(EntryKinds.ServiceIntentions, destination);
            return row is null ? [] : ((ServiceIntentionsEntry)EntryCodec.FromStored(row.Json)).Sources!.Select(s => $"{s.Name}:{s.Action}").ToList();
        }
    }

    private static IntentionInput Action(string action) => new() { Action = action };

    [Fact]
    public async Task Upsert_AnotherWriteLandsBetweenReadAndWrite_RetriesAndKeepsBoth()
    {
        var f = new Fixture();
        await f.Writer.UpsertAsync("web", "db", Action("allow"), CancellationToken.None);
        f.Log.BeforeNext(() => f.WriteBehindItsBackAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"api","Action":"deny"}]}"""));
        await f.Writer.UpsertAsync("cache", "db", Action("allow"), CancellationToken.None);
        Assert.Equal(1, f.Log.Intercepted);
        Assert.Equal(["web:allow", "api:deny", "cache:allow"], f.Sources("db"));
    }

    [Fact]
    public async Task Create_DestinationCreatedInBetween_RetriesOnTheNewEntry()
    {
        var f = new Fixture();
        f.Log.BeforeNext(() => f.WriteBehindItsBackAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"api","Action":"deny"}]}"""));
        var id = await f.Writer.CreateLegacyAsync(new IntentionInput { SourceName = "web", DestinationName = "db", Action = "allow" }, CancellationToken.None);
        Assert.Equal(["api:deny", "web:allow"], f.Sources("db"));
        var (_, row) = f.Store.View().ConfigEntryGet(EntryKinds.ServiceIntentions, "db");
        Assert.Equal(id, ((ServiceIntentionsEntry)EntryCodec.FromStored(row!.Json)).Sources![1].LegacyID);
    }

    [Fact]
    public async Task DeleteOfLastSource_SourceAddedInBetween_KeepsTheNewOne()
    {
        var f = new Fixture();
        await f.Writer.UpsertAsync("web", "db", Action("allow"), CancellationToken.None);
        f.Log.BeforeNext(() => f.WriteBehindItsBackAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"api","Action":"deny"}]}"""));
        Assert.True(await f.Writer.DeleteAsync("web", "db", CancellationToken.None));
        Assert.Equal(["api:deny"], f.Sources("db"));
    }

    [Fact]
    public async Task DeleteLegacy_IntentionRemovedInBetween_NotFound()
    {
        var f = new Fixture();
        var id = await f.Writer.CreateLegacyAsync(new IntentionInput { SourceName = "web", DestinationName = "db", Action = "allow" }, CancellationToken.None);
        f.Log.BeforeNext(() => f.WriteBehindItsBackAsync("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"api","Action":"deny"}]}"""));
        var error = await Assert.ThrowsAsync<IntentionNotFoundException>(() => f.Writer.DeleteLegacyAsync(id, CancellationToken.None));
        Assert.Equal($"Cannot delete non-existent intention: '{id}'", error.Message);
        Assert.Equal(["api:deny"], f.Sources("db"));
    }
}
