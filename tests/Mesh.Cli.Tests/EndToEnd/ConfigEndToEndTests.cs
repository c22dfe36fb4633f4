using System.Text.Json;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary><c>config write</c>, <c>read</c>, <c>list</c> and <c>delete</c> against a real agent, with Consul's messages and exit codes.</summary>
[Collection(AgentCollection.Name)]
public sealed class ConfigEndToEndTests(AgentFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-config-cli-").FullName;

    // The agent is shared by the collection: every test names its services uniquely.
    private readonly string _web = "web-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliHarness Cli(string stdin = "")
    {
        var cli = new CliHarness { UseNetwork = true, WorkingDirectory = _dir, Stdin = stdin };
        cli.Env["MESH_HTTP_ADDR"] = fixture.Agent.HostPort;
        return cli;
    }

    /// <summary>An entry's JSON with this test's service name in place of <c>WEB</c>.</summary>
    private string J(string json) => json.Replace("WEB", _web, StringComparison.Ordinal);

    private string Save(string name, string json)
    {
        File.WriteAllText(Path.Combine(_dir, name), json);
        return name;
    }

    private async Task<ulong> ModifyIndexAsync(string kind, string name)
    {
        var read = await Cli().RunAsync("config", "read", "-kind", kind, "-name", name);
        Assert.Equal(0, read.ExitCode);
        return JsonDocument.Parse(read.Out).RootElement.GetProperty("ModifyIndex").GetUInt64();
    }

    [Fact]
    public async Task WriteReadListDelete_ServiceDefaults_RoundTrip()
    {
        var file = Save("web.json", J("""{"Kind":"service-defaults","Name":"WEB","Protocol":"http"}"""));
        var write = await Cli().RunAsync("config", "write", file);
        Assert.Equal((0, $"Config entry written: service-defaults/{_web}\n", ""), (write.ExitCode, write.Out, write.Err));

        var read = await Cli().RunAsync("config", "read", "-kind", "service-defaults", "-name", _web);
        Assert.Equal((0, ""), (read.ExitCode, read.Err));
        Assert.StartsWith($"{{\n    \"Kind\": \"service-defaults\",\n    \"Name\": \"{_web}\",\n    \"Protocol\": \"http\",", read.Out);
        Assert.True(JsonDocument.Parse(read.Out).RootElement.GetProperty("CreateIndex").GetUInt64() > 0);

        var list = await Cli().RunAsync("config", "list", "-kind", "service-defaults");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains(_web, list.Out.Split('\n'));

        var delete = await Cli().RunAsync("config", "delete", "-kind", "service-defaults", "-name", _web);
        Assert.Equal((0, $"Config entry deleted: service-defaults/{_web}\n", ""), (delete.ExitCode, delete.Out, delete.Err));
        var gone = await Cli().RunAsync("config", "read", "-kind", "service-defaults", "-name", _web);
        Assert.Equal(1, gone.ExitCode);
        Assert.Equal($"Error reading config entry \"service-defaults\" / \"{_web}\": Unexpected response code: 404 (Config entry not found for \"service-defaults\" / \"{_web}\")\n", gone.Err);
    }

    [Fact]
    public async Task Write_FromStdin_SnakeCase_Accepted()
    {
        var write = await Cli(J("""{"kind":"service-resolver","name":"WEB","connect_timeout":"3s","subsets":{"v1":{"filter":"Service.Meta.version == v1"}}}"""))
            .RunAsync("config", "write", "-");
        Assert.Equal((0, $"Config entry written: service-resolver/{_web}\n"), (write.ExitCode, write.Out));
        var read = await Cli().RunAsync("config", "read", "-kind", "service-resolver", "-name", _web);
        var entry = JsonDocument.Parse(read.Out).RootElement;
        Assert.Equal("3s", entry.GetProperty("ConnectTimeout").GetString());
        Assert.Equal("Service.Meta.version == v1", entry.GetProperty("Subsets").GetProperty("v1").GetProperty("Filter").GetString());
        Assert.Equal(0, (await Cli().RunAsync("config", "delete", "-kind", "service-resolver", "-name", _web)).ExitCode);
    }

    [Fact]
    public async Task WriteAndDelete_Cas_OnlyAtTheCurrentIndex()
    {
        var file = Save("web.json", J("""{"Kind":"service-defaults","Name":"WEB","Protocol":"grpc"}"""));
        Assert.Equal(0, (await Cli().RunAsync("config", "write", "-cas", "-modify-index", "0", file)).ExitCode);
        var again = await Cli().RunAsync("config", "write", "-cas", "-modify-index", "0", file);
        Assert.Equal((1, "", $"Config entry not updated: service-defaults/{_web}\n"), (again.ExitCode, again.Out, again.Err));

        var index = await ModifyIndexAsync("service-defaults", _web);
        var http2 = Save("web2.json", J("""{"Kind":"service-defaults","Name":"WEB","Protocol":"http2"}"""));
        Assert.Equal(1, (await Cli().RunAsync("config", "write", "-cas", "-modify-index", (index + 1000).ToString(), http2)).ExitCode);
        Assert.Equal(0, (await Cli().RunAsync("config", "write", "-cas", "-modify-index", index.ToString(), http2)).ExitCode);

        var stale = await Cli().RunAsync("config", "delete", "-kind", "service-defaults", "-name", _web, "-cas", "-modify-index", index.ToString());
        Assert.Equal((1, $"Config entry not deleted: service-defaults/{_web}\n"), (stale.ExitCode, stale.Err));
        var current = await ModifyIndexAsync("service-defaults", _web);
        var delete = await Cli().RunAsync("config", "delete", "-kind", "service-defaults", "-name", _web, "-cas", "-modify-index", current.ToString());
        Assert.Equal((0, $"Config entry deleted: service-defaults/{_web}\n"), (delete.ExitCode, delete.Out));
    }

    [Fact]
    public async Task List_Filter_SelectsEntries()
    {
        await Cli(J("""{"Kind":"service-defaults","Name":"WEB-a","Protocol":"grpc","Meta":{"team":"WEB"}}""")).RunAsync("config", "write", "-");
        await Cli(J("""{"Kind":"service-defaults","Name":"WEB-b","Protocol":"tcp","Meta":{"team":"WEB"}}""")).RunAsync("config", "write", "-");
        var list = await Cli().RunAsync("config", "list", "-kind", "service-defaults", "-filter", $"Meta.team == \"{_web}\" and Protocol == grpc");
        Assert.Equal((0, $"{_web}-a\n", ""), (list.ExitCode, list.Out, list.Err));
        var bad = await Cli().RunAsync("config", "list", "-kind", "service-defaults", "-filter", "((");
        Assert.Equal(1, bad.ExitCode);
        Assert.StartsWith("Error listing config entries for kind \"service-defaults\": Unexpected response code: 400 (Failed to create boolean expression evaluator:", bad.Err);
        foreach (var suffix in (string[])["-a", "-b"]) await Cli().RunAsync("config", "delete", "-kind", "service-defaults", "-name", _web + suffix);
    }

    [Fact]
    public async Task Write_RouterOnTcpService_RefusedWithConsulsReason()
    {
        var file = Save("router.json", J("""{"Kind":"service-router","Name":"WEB","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin"}}}]}"""));
        var run = await Cli().RunAsync("config", "write", file);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"Error writing config entry service-router/{_web}: Unexpected response code: 400 (discovery chain \"{_web}\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior)\n", run.Err);
    }

    [Fact]
    public async Task Delete_ProtocolARouterNeeds_RefusedThenAllowedInOrder()
    {
        Assert.Equal(0, (await Cli(J("""{"Kind":"service-defaults","Name":"WEB","Protocol":"http"}""")).RunAsync("config", "write", "-")).ExitCode);
        Assert.Equal(0, (await Cli(J("""{"Kind":"service-router","Name":"WEB","Routes":[{"Match":{"HTTP":{"PathPrefix":"/a"}}}]}""")).RunAsync("config", "write", "-")).ExitCode);
        var refused = await Cli().RunAsync("config", "delete", "-kind", "service-defaults", "-name", _web);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("does not permit advanced routing or splitting behavior", refused.Err);
        Assert.Equal(0, (await Cli().RunAsync("config", "delete", "-kind", "service-router", "-name", _web)).ExitCode);
        Assert.Equal(0, (await Cli().RunAsync("config", "delete", "-kind", "service-defaults", "-name", _web)).ExitCode);
    }

    [Theory]
    [InlineData(new[] { "config", "write" }, "Must provide exactly one positional argument to specify the config entry to write")]
    [InlineData(new[] { "config", "write", "a.json", "b.json" }, "Must provide exactly one positional argument to specify the config entry to write")]
    [InlineData(new[] { "config", "write", "missing.json" }, "Failed to load data: Failed to read file: ")]
    [InlineData(new[] { "config", "write", "broken.json" }, "Failed to decode config entry input: ")]
    [InlineData(new[] { "config", "write", "nokind.json" }, "Failed to decode config entry input: Kind is required")]
    [InlineData(new[] { "config", "write", "unknown.json" }, "Failed to decode config entry input: invalid config entry kind: mesh-gateway")]
    [InlineData(new[] { "config", "read", "-name", "x" }, "Must specify the -kind parameter")]
    [InlineData(new[] { "config", "read", "-kind", "service-defaults" }, "Must specify the -name parameter")]
    [InlineData(new[] { "config", "read", "-kind", "bogus", "-name", "x" }, "Error reading config entry \"bogus\" / \"x\": Unexpected response code: 400 (invalid config entry kind: bogus)")]
    [InlineData(new[] { "config", "list" }, "Must specify the -kind parameter")]
    [InlineData(new[] { "config", "list", "-kind", "bogus" }, "Error listing config entries for kind \"bogus\": Unexpected response code: 400 (invalid config entry kind: bogus)")]
    [InlineData(new[] { "config", "delete", "-name", "x" }, "Must specify the -kind parameter")]
    [InlineData(new[] { "config", "delete", "-kind", "service-defaults" }, "Must specify the -name parameter")]
    [InlineData(new[] { "config", "delete", "-kind", "bogus", "-name", "x" }, "Error deleting config entry bogus/x: Unexpected response code: 400 (invalid config entry kind: bogus)")]
    public async Task Problems_Exit1WithConsulsMessage(string[] args, string message)
    {
        Save("broken.json", "{ not json");
        Save("nokind.json", """{"Name":"x"}""");
        Save("unknown.json", """{"Kind":"mesh-gateway","Name":"x"}""");
        var run = await Cli().RunAsync(args);
        Assert.Equal((1, ""), (run.ExitCode, run.Out));
        Assert.StartsWith(message, run.Err);
    }

    [Fact]
    public async Task Config_Alone_ListsSubcommands_Exit1()
    {
        var run = await Cli().RunAsync("config");
        Assert.Equal(1, run.ExitCode);
        foreach (var sub in (string[])["delete", "list", "read", "write"]) Assert.Contains($"    {sub} ", run.Err);
    }

    [Fact]
    public async Task Write_AgentUnreachable_Exit1WithTheTransportError()
    {
        var file = Save("web.json", J("""{"Kind":"service-defaults","Name":"WEB"}"""));
        var cli = Cli();
        cli.Env["MESH_HTTP_ADDR"] = "127.0.0.1:1";
        var run = await cli.RunAsync("config", "write", file);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"Error writing config entry service-defaults/{_web}: Put \"http://127.0.0.1:1/v1/config\": dial tcp 127.0.0.1:1: connect: connection refused", run.Err);
    }
}
