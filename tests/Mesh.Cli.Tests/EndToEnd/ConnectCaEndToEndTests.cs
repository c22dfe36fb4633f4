using System.Text.Json;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary><c>connect ca get-config</c> and <c>set-config</c> against a real agent.</summary>
[Collection(AgentCollection.Name)]
public sealed class ConnectCaEndToEndTests(AgentFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-ca-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliHarness Cli()
    {
        var cli = new CliHarness { UseNetwork = true, WorkingDirectory = _dir };
        cli.Env["MESH_HTTP_ADDR"] = fixture.Agent.HostPort;
        return cli;
    }

    [Fact]
    public async Task GetConfig_PrintsTheBuiltinProviderAsJson()
    {
        var run = await Cli().RunAsync("connect", "ca", "get-config");
        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var json = JsonDocument.Parse(run.Out).RootElement;
        Assert.Equal("consul", json.GetProperty("Provider").GetString());
        Assert.Equal("ec", json.GetProperty("Config").GetProperty("PrivateKeyType").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("State").ValueKind);
        Assert.Contains("\n  \"Config\": {", run.Out);
    }

    [Fact]
    public async Task SetConfig_FromFile_Applies_ThenGetConfigShowsIt()
    {
        File.WriteAllText(Path.Combine(_dir, "ca.json"), """{"Provider":"consul","Config":{"LeafCertTTL":"48h","PrivateKeyType":"ec","PrivateKeyBits":256}}""");
        var set = await Cli().RunAsync("connect", "ca", "set-config", "-config-file", "ca.json");
        Assert.Equal((0, "Configuration updated!\n", ""), (set.ExitCode, set.Out, set.Err));
        var get = await Cli().RunAsync("connect", "ca", "get-config");
        Assert.Equal("48h", JsonDocument.Parse(get.Out).RootElement.GetProperty("Config").GetProperty("LeafCertTTL").GetString());
    }

    [Theory]
    [InlineData(null, "The -config-file flag is required")]
    [InlineData("missing.json", "Error reading config file:")]
    [InlineData("broken.json", "Error parsing config file:")]
    [InlineData("invalid.json", "Error setting CA configuration: Unexpected response code: 400")]
    public async Task SetConfig_Problems_Exit1WithMessage(string? file, string message)
    {
        File.WriteAllText(Path.Combine(_dir, "broken.json"), "{ not json");
        File.WriteAllText(Path.Combine(_dir, "invalid.json"), """{"Provider":"consul","Config":{"PrivateKeyBits":123}}""");
        var run = await (file is null ? Cli().RunAsync("connect", "ca", "set-config") : Cli().RunAsync("connect", "ca", "set-config", "-config-file", file));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains(message, run.Err);
    }

    [Fact]
    public async Task Connect_Alone_ListsSubcommands_Exit1()
    {
        var run = await Cli().RunAsync("connect", "ca");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("get-config", run.Err);
        Assert.Contains("set-config", run.Err);
    }
}
