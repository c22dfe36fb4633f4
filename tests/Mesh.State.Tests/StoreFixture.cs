using System.Collections.Immutable;
using Mesh.Consensus.Dev;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Fsm;
using Mesh.State.Tables;

namespace Mesh.State.Tests;

/// <summary>A store driven through the real FSM and dev log, with a clock the test controls.</summary>
internal sealed class StoreFixture
{
    public StoreFixture()
    {
        Store = new StateStore();
        Fsm = new StateMachine(Store);
        Log = new InMemoryLog(Fsm, "127.0.0.1:8300");
        Apply(new RegisterNodeCommand(new Node { Name = "n1", Address = "127.0.0.1" },
            [new HealthCheck { Node = "n1", CheckID = "serfHealth", Status = HealthStatus.Passing }]));
    }

    public StateStore Store { get; }
    public StateMachine Fsm { get; }
    public InMemoryLog Log { get; }
    public DateTime Now { get; set; } = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public CommandResult Apply(Command command)
    {
        var r = Log.ApplyAsync(CommandCodec.Encode(command with { Now = Now }), CancellationToken.None).GetAwaiter().GetResult();
        return (CommandResult)r.Response!;
    }

    public bool Set(string key, string value, ulong flags = 0) => Apply(new KvCommand(new KvOp(KvVerbs.Set, key, Bytes(value), flags))).Ok;

    public CommandResult Kv(string verb, string key, string? value = null, ulong index = 0, string? session = null) =>
        Apply(new KvCommand(new KvOp(verb, key, value is null ? null : Bytes(value), 0, index, session)));

    public string CreateSession(SessionBehavior behavior = SessionBehavior.Release, TimeSpan? lockDelay = null, string node = "n1")
    {
        var id = Guid.NewGuid().ToString();
        var r = Apply(new SessionCreateCommand(new Session
        {
            ID = id, Node = node, Behavior = behavior, LockDelay = lockDelay ?? TimeSpan.FromSeconds(15), NodeChecks = ["serfHealth"],
        }));
        Assert.True(r.Ok, r.Error);
        return id;
    }

    public KvEntry? Get(string key) => Store.View().KvGet(key).Entry;

    public static byte[] Bytes(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    public static string Text(KvEntry? e) => e?.Value is null ? "" : System.Text.Encoding.UTF8.GetString(e.Value);
}
