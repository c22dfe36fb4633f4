using System.Text.Json;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary>
/// <c>intention create</c>, <c>get</c>, <c>list</c>, <c>match</c>, <c>check</c> and <c>delete</c> against a real
/// agent, with Consul's output, messages and exit codes. The agent is shared: every test names its services
/// uniquely, and wildcards appear only on one side of a pair whose other side is this test's own.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class IntentionEndToEndTests(AgentFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-intention-cli-").FullName;
    private readonly string _web = "web-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _db = "db-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliHarness Cli(string stdin = "")
    {
        var cli = new CliHarness { UseNetwork = true, WorkingDirectory = _dir, Stdin = stdin };
        cli.Env["MESH_HTTP_ADDR"] = fixture.Agent.HostPort;
        return cli;
    }

    private Task<CliRun> RunAsync(params string[] args) => Cli().RunAsync(args);

    private async Task<JsonElement> ExactAsync(string source, string destination)
    {
        using var http = new HttpClient { BaseAddress = fixture.Agent.BaseAddress };
        var text = await http.GetStringAsync($"v1/connect/intentions/exact?source={source}&destination={destination}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task CreateGetListDelete_RoundTrip()
    {
        var create = await RunAsync("intention", "create", _web, _db);
        Assert.Equal((0, $"Created: {_web} => {_db} (allow)\n", ""), (create.ExitCode, create.Out, create.Err));
        var id = (await ExactAsync(_web, _db)).GetProperty("ID").GetString()!;

        var get = await RunAsync("intention", "get", _web, _db);
        Assert.Equal((0, ""), (get.ExitCode, get.Err));
        var lines = get.Out.TrimEnd('\n').Split('\n');
        Assert.Equal($"Source:       {_web}", lines[0]);
        Assert.Equal($"Destination:  {_db}", lines[1]);
        Assert.Equal("Action:       allow", lines[2]);
        Assert.Equal($"ID:           {id}", lines[3]);
        Assert.Matches(@"^Created At:   [A-Z][a-z]+day, \d\d-[A-Z][a-z]{2}-\d\d \d\d:\d\d:\d\d \S+$", lines[4]);
        Assert.Equal(5, lines.Length);
        Assert.Equal(get.Out, (await RunAsync("intention", "get", id)).Out);

        var list = await RunAsync("intention", "list");
        Assert.Equal(0, list.ExitCode);
        var listLines = list.Out.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^ID +Source +Action +Destination +Precedence$", listLines[0]);
        Assert.Contains(listLines, l => System.Text.RegularExpressions.Regex.IsMatch(l, $"^{id}  +{_web} +allow +{_db} +9$"));

        var delete = await RunAsync("intention", "delete", _web, _db);
        Assert.Equal((0, "Intention deleted.\n", ""), (delete.ExitCode, delete.Out, delete.Err));
        var gone = await RunAsync("intention", "get", _web, _db);
        Assert.Equal((1, "", $"Intention not found with source \"{_web}\" and destination \"{_db}\"\n"), (gone.ExitCode, gone.Out, gone.Err));
    }

    [Fact]
    public async Task Create_Existing_RefusedWithoutReplace_ReplacedWithIt()
    {
        Assert.Equal(0, (await RunAsync("intention", "create", "-meta", "v=1", _web, _db)).ExitCode);
        var id = (await ExactAsync(_web, _db)).GetProperty("ID").GetString();

        var again = await RunAsync("intention", "create", "-deny", _web, _db);
        Assert.Equal((1, ""), (again.ExitCode, again.Out));
        Assert.Equal($"Error creating intention \"{_web} => {_db} (deny)\": Unexpected response code: 400 (Sources[1] defines \"{_web}\" more than once)\n", again.Err);

        var replace = await RunAsync("intention", "create", "-replace", "-deny", "-meta", "v=2", _web, _db);
        Assert.Equal((0, "", ""), (replace.ExitCode, replace.Out, replace.Err));
        var replaced = await ExactAsync(_web, _db);
        Assert.Equal("deny", replaced.GetProperty("Action").GetString());
        Assert.Equal(id, replaced.GetProperty("ID").GetString());
        Assert.Equal("2", replaced.GetProperty("Meta").GetProperty("v").GetString());

        // -replace of nothing creates.
        var fresh = await RunAsync("intention", "create", "-replace", "-deny", _db, _web);
        Assert.Equal((0, $"Created: {_db} => {_web} (deny)\n"), (fresh.ExitCode, fresh.Out));
        Assert.Equal(0, (await RunAsync("intention", "delete", _web, _db)).ExitCode);
        Assert.Equal(0, (await RunAsync("intention", "delete", _db, _web)).ExitCode);
    }

    [Fact]
    public async Task Create_ReplaceOfAnIntentionWrittenByName_GoesThroughExact()
    {
        using (var http = new HttpClient { BaseAddress = fixture.Agent.BaseAddress })
        {
            var put = await http.PutAsync($"v1/connect/intentions/exact?source={_web}&destination={_db}", new StringContent("""{"Action":"allow"}"""));
            Assert.True(put.IsSuccessStatusCode);
        }
        var replace = await RunAsync("intention", "create", "-replace", "-deny", _web, _db);
        Assert.Equal((0, ""), (replace.ExitCode, replace.Err));
        var replaced = await ExactAsync(_web, _db);
        Assert.Equal("deny", replaced.GetProperty("Action").GetString());
        Assert.False(replaced.TryGetProperty("ID", out _));
        Assert.Equal(0, (await RunAsync("intention", "delete", _web, _db)).ExitCode);
    }

    [Fact]
    public async Task Create_Meta_ShownSortedByGet_DeleteById()
    {
        Assert.Equal(0, (await RunAsync("intention", "create", "-deny", "-meta", "zone=b", "-meta", "team=a", _web, _db)).ExitCode);
        var get = await RunAsync("intention", "get", _web, _db);
        var lines = get.Out.TrimEnd('\n').Split('\n');
        Assert.Equal("Action:       deny", lines[2]);
        Assert.Equal("Meta[team]:   a", lines[4]);
        Assert.Equal("Meta[zone]:   b", lines[5]);
        var id = (await ExactAsync(_web, _db)).GetProperty("ID").GetString()!;
        Assert.Equal((0, "Intention deleted.\n"), ((await RunAsync("intention", "delete", id)) is var d ? (d.ExitCode, d.Out) : default));
        Assert.Equal(1, (await RunAsync("intention", "get", id)).ExitCode);
        var unknown = await RunAsync("intention", "delete", id);
        Assert.Equal((1, $"Error deleting the intention: Unexpected response code: 404 (Cannot delete non-existent intention: '{id}')\n"), (unknown.ExitCode, unknown.Err));
    }

    [Fact]
    public async Task Create_FromFilesAndStdin_L7FileRefused()
    {
        File.WriteAllText(Path.Combine(_dir, "one.json"), $$"""{"SourceName":"{{_web}}","DestinationName":"{{_db}}","Action":"deny","Description":"from a file"}""");
        File.WriteAllText(Path.Combine(_dir, "l7.json"), $$$"""{"SourceName":"x","DestinationName":"{{{_db}}}","Permissions":[{"Action":"allow","HTTP":{"PathExact":"/"}}]}""");
        var files = await Cli($$"""{"SourceName":"{{_db}}","DestinationName":"{{_web}}","Action":"allow"}""").RunAsync("intention", "create", "-file", "one.json", "-");
        Assert.Equal((0, $"Created: {_web} => {_db} (deny)\nCreated: {_db} => {_web} (allow)\n", ""), (files.ExitCode, files.Out, files.Err));
        Assert.Equal("from a file", (await ExactAsync(_web, _db)).GetProperty("Description").GetString());

        var l7 = await RunAsync("intention", "create", "-file", "l7.json");
        Assert.Equal((1, "Error: cannot create L7 intention from file \"l7.json\" using this CLI; use 'mesh config write' instead\n"), (l7.ExitCode, l7.Err));
        var missing = await RunAsync("intention", "create", "-file", "missing.json");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("Error: ", missing.Err);
        Assert.Contains("missing.json", missing.Err);
        Assert.Equal(0, (await RunAsync("intention", "delete", _web, _db)).ExitCode);
        Assert.Equal(0, (await RunAsync("intention", "delete", _db, _web)).ExitCode);
    }

    [Fact]
    public async Task MatchAndCheck_WildcardSourceOnOwnDestination()
    {
        Assert.Equal(0, (await RunAsync("intention", "create", _web, _db)).ExitCode);
        Assert.Equal(0, (await RunAsync("intention", "create", "-deny", "*", _db)).ExitCode);

        var match = await RunAsync("intention", "match", _db);
        Assert.Equal((0, $"{_web} => {_db} (allow)\n* => {_db} (deny)\n", ""), (match.ExitCode, match.Out, match.Err));
        var bySource = await RunAsync("intention", "match", "-source", _web);
        Assert.Equal(0, bySource.ExitCode);
        Assert.StartsWith($"{_web} => {_db} (allow)\n", bySource.Out);

        var allowed = await RunAsync("intention", "check", _web, _db);
        Assert.Equal((0, "Allowed\n", ""), (allowed.ExitCode, allowed.Out, allowed.Err));
        var denied = await RunAsync("intention", "check", "other-" + _web, _db);
        Assert.Equal((1, "Denied\n", ""), (denied.ExitCode, denied.Out, denied.Err));

        Assert.Equal(0, (await RunAsync("intention", "delete", _web, _db)).ExitCode);
        Assert.Equal(0, (await RunAsync("intention", "delete", "*", _db)).ExitCode);
        Assert.Equal("", (await RunAsync("intention", "match", _db)).Out);
    }

    [Theory]
    [InlineData(new[] { "intention", "create", "-allow", "-deny", "a", "b" }, 1, "Only one of -allow or -deny may be specified.")]
    [InlineData(new[] { "intention", "create", "a" }, 1, "Error: Must specify two arguments: source and destination")]
    [InlineData(new[] { "intention", "create", "a/b/c/d", "b" }, 1, "Error: Invalid intention source: input can contain at most two '/'")]
    [InlineData(new[] { "intention", "create", "web*", "db" }, 1, "Error creating intention \"web* => db (allow)\": Unexpected response code: 400 (SourceName: wildcard character '*' cannot be used with partial values)")]
    [InlineData(new[] { "intention", "get" }, 1, "command requires exactly 1 or 2 arguments")]
    [InlineData(new[] { "intention", "get", "not-a-uuid" }, 1, "Error reading the intention: Unexpected response 400: UUID must be 36 characters")]
    [InlineData(new[] { "intention", "delete", "a", "b", "c" }, 1, "command requires exactly 1 or 2 arguments")]
    [InlineData(new[] { "intention", "match" }, 1, "Error: command requires exactly one argument: src or dst")]
    [InlineData(new[] { "intention", "match", "-source", "-destination", "x" }, 1, "Error: only one of -source or -destination may be specified")]
    [InlineData(new[] { "intention", "match", "-bogus", "x" }, 2, "flag provided but not defined: -bogus")]
    [InlineData(new[] { "intention", "check", "a" }, 2, "Error: command requires exactly two arguments: src and dst")]
    [InlineData(new[] { "intention", "check", "-bogus", "a", "b" }, 2, "flag provided but not defined: -bogus")]
    public async Task Problems_ExitCodeAndConsulsMessage(string[] args, int code, string message)
    {
        var run = await RunAsync(args);
        Assert.Equal((code, ""), (run.ExitCode, run.Out));
        Assert.StartsWith(message, run.Err);
    }

    [Fact]
    public async Task Check_AgentUnreachable_Exit2()
    {
        var cli = Cli();
        cli.Env["MESH_HTTP_ADDR"] = "127.0.0.1:1";
        var run = await cli.RunAsync("intention", "check", "a", "b");
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("Error checking the connection: Get \"http://127.0.0.1:1/v1/connect/intentions/check", run.Err);
    }

    [Fact]
    public async Task Intention_Alone_ListsSubcommands_Exit1()
    {
        var run = await RunAsync("intention");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Usage: mesh intention <subcommand> [options] [args]", run.Err);
        foreach (var sub in (string[])["check", "create", "delete", "get", "list", "match"]) Assert.Contains($"    {sub} ", run.Err);
    }
}
