using System.Text.Json;
using Mesh.Cli.Locks;
using Mesh.Cli.Tests.Support;
using static Mesh.Cli.Tests.Support.Json;

namespace Mesh.Cli.Tests.Commands.Lock;

public sealed class SemaphoreTests
{
    private const string Session = "sess-1";
    private static readonly string Flag = KvSemaphore.FlagValue.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string LockPair(string holdersJson, ulong modify, int limit = 2) =>
        Pair("job/.lock", $$"""{"Limit":{{limit}},"Holders":{{holdersJson}}}""", 30, modify, KvSemaphore.FlagValue);

    private static string Contender(string session) => Pair($"job/{session}", null, 29, 29, KvSemaphore.FlagValue, 1, session);

    /// <param name="acquireRead">Answers the contender's blocking reads of the prefix.</param>
    private static CliHarness SemaphoreAgent(Func<RecordedRequest, HttpResponseMessage> acquireRead, List<string> casBodies)
    {
        var cli = new CliHarness();
        var holding = false;
        cli.Handler
            .On("GET", "/v1/agent/self", 200, "{}")
            .On("PUT", "/v1/session/create", 200, $$"""{"ID":"{{Session}}"}""")
            .On("PUT", $"/v1/session/destroy/{Session}", 200, "true")
            .On("PUT", $"/v1/kv/job/{Session}", 200, "true")
            .On("DELETE", $"/v1/kv/job/{Session}", 200, "true")
            .On("DELETE", "/v1/kv/job/.lock", 200, "true")
            .On("PUT", "/v1/kv/job/.lock", r =>
            {
                lock (casBodies) casBodies.Add(r.BodyText);
                holding = r.BodyText.Contains(Session);
                return StubHandler.Response(200, "true");
            })
            .On("GET", "/v1/kv/job/.lock", 200, Array(LockPair($$"""{"{{Session}}":true}""", 32)), 32)
            .On("GET", "/v1/kv/job", (r, ct) =>
            {
                if (r.Query.Contains("consistent"))
                {
                    return r.Query.Contains("index=")
                        ? StubHandler.Block()(r, ct)
                        : Task.FromResult(StubHandler.Response(200, Array(LockPair($$"""{"{{Session}}":true}""", 31), Contender(Session)), 31));
                }
                if (r.Query.Contains("wait=")) return Task.FromResult(acquireRead(r));
                // Cleanup after release: nobody holds a slot any more.
                return Task.FromResult(StubHandler.Response(200, Array(LockPair(holding ? $$"""{"{{Session}}":true}""" : "{}", 33)), 33));
            });
        return cli;
    }

    [Fact]
    public async Task Semaphore_FreeSlot_RecordsHolderRunsChildThenRemovesHolder()
    {
        var casBodies = new List<string>();
        var cli = SemaphoreAgent(_ => StubHandler.Response(200, Array(Contender(Session)), 30), casBodies);
        var run = await cli.RunAsync("lock", "-n=2", "job", "echo", "in-slot");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("in-slot\n", run.Out);
        Assert.Equal([$$$"""{"Limit":2,"Holders":{"{{{Session}}}":true}}""", """{"Limit":2,"Holders":{}}"""], casBodies);
        Assert.Equal(
        [
            "GET /v1/agent/self",
            "PUT /v1/session/create",
            $"PUT /v1/kv/job/{Session}?acquire={Session}&flags={Flag}",
            "GET /v1/kv/job?recurse&wait=15000ms",
            $"PUT /v1/kv/job/.lock?cas=0&flags={Flag}",
            "GET /v1/kv/job/.lock",
            $"PUT /v1/kv/job/.lock?cas=32&flags={Flag}",
            $"DELETE /v1/kv/job/{Session}",
            $"PUT /v1/session/destroy/{Session}",
            "GET /v1/kv/job?recurse",
            "DELETE /v1/kv/job/.lock?cas=33",
        ], cli.Handler.Log.Where(l => !l.Contains("consistent")));
        Assert.Empty(cli.Handler.Unrouted);

        using var body = JsonDocument.Parse(cli.Handler.Requests.Single(r => r.Path == "/v1/session/create").Body);
        Assert.Equal("delete", body.RootElement.GetProperty("Behavior").GetString());
    }

    [Fact]
    public async Task Semaphore_Full_WaitsThenPrunesDeadHolder()
    {
        var casBodies = new List<string>();
        var cli = SemaphoreAgent(r => r.Query.Contains("index=40")
            // b's contender key is gone (its session died): b no longer counts.
            ? StubHandler.Response(200, Array(LockPair("""{"a":true,"b":true}""", 41), Contender("a"), Contender(Session)), 41)
            : StubHandler.Response(200, Array(LockPair("""{"a":true,"b":true}""", 40), Contender("a"), Contender("b"), Contender(Session)), 40),
            casBodies);
        var run = await cli.RunAsync("lock", "-n=2", "job", "true");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("GET /v1/kv/job?index=40&recurse&wait=15000ms", cli.Handler.Log);
        Assert.Equal($$$"""{"Limit":2,"Holders":{"a":true,"{{{Session}}}":true}}""", casBodies[0]);
        Assert.Contains($"PUT /v1/kv/job/.lock?cas=41&flags={Flag}", cli.Handler.Log);
    }

    [Fact]
    public async Task Semaphore_LimitDisagrees_FailsWithConflict()
    {
        var cli = SemaphoreAgent(_ => StubHandler.Response(200, Array(LockPair("{}", 40, limit: 3), Contender(Session)), 40), []);
        var run = await cli.RunAsync("lock", "-n=2", "job", "true");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Lock acquisition failed: semaphore limit conflict (lock: 3, local: 2)\n", run.Err);
        Assert.Contains($"PUT /v1/session/destroy/{Session}", cli.Handler.Log);
    }
}
