using System.Text.Json;
using Mesh.Cli.Processes;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Connect;

/// <summary><c>mesh connect envoy</c> against a stubbed agent, with Envoy's start recorded instead of performed.</summary>
public sealed class ConnectEnvoyCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-envoy-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string WebProxy = """
        {"Kind":"connect-proxy","ID":"web-sidecar-proxy","Service":"web-sidecar-proxy","Port":21000,"Address":"",
         "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web","LocalServicePort":8080,"Config":{"envoy_stats_bind_addr":"0.0.0.0:9200"}},
         "Datacenter":"dc7"}
        """;

    /// <summary>Records the launch and what the bootstrap file held at that moment.</summary>
    private sealed class RecordingLauncher(int exitCode = 0) : IEnvoyLauncher
    {
        public string? Binary { get; private set; }
        public IReadOnlyList<string> Args { get; private set; } = [];
        public string? ConfigText { get; private set; }
        public UnixFileMode ConfigMode { get; private set; }

        public Task<int> LaunchAsync(CliContext ctx, string binary, IReadOnlyList<string> args)
        {
            Binary = binary;
            Args = args;
            ConfigText = File.ReadAllText(args[1]);
            ConfigMode = File.GetUnixFileMode(args[1]);
            return Task.FromResult(exitCode);
        }
    }

    private static CliHarness Agent(string services = "{}", string? proxyDefaults = null, int grpcPort = 8503)
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/services", 200, services);
        cli.Handler.On("GET", "/v1/agent/service/web-sidecar-proxy", 200, WebProxy);
        cli.Handler.On("GET", "/v1/agent/service/unknown", 404, "unknown service ID: unknown");
        cli.Handler.On("GET", "/v1/config/proxy-defaults/global", proxyDefaults is null ? 404 : 200,
            proxyDefaults is null ? "" : $$"""{"Kind":"proxy-defaults","Name":"global","Config":{{proxyDefaults}}}""");
        cli.Handler.On("GET", "/v1/agent/self", 200, $$$"""{"Config":{"Datacenter":"dc7"},"DebugConfig":{"GRPCPort":{{{grpcPort}}}}}""");
        return cli;
    }

    private static string Services(params string[] entries) => "{" + string.Join(",", entries) + "}";

    private static string Sidecar(string id, string destinationId) =>
        $$$"""
        "{{{id}}}":{"Kind":"connect-proxy","ID":"{{{id}}}","Service":"{{{id}}}","Port":21000,
                  "Proxy":{"destination_service_name":"web","destination_service_id":"{{{destinationId}}}"}}
        """;

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    private static IEnumerable<string> ListenerNames(JsonElement bootstrap) =>
        bootstrap.GetProperty("static_resources").TryGetProperty("listeners", out var l) ? l.EnumerateArray().Select(x => x.GetProperty("name").GetString()!) : [];

    [Fact]
    public async Task SidecarFor_OneProxy_PrintsItsBootstrap()
    {
        var cli = Agent(Services(Sidecar("web-sidecar-proxy", "Web"), """ "web":{"ID":"web","Service":"web","Port":8080} """));

        var run = await cli.RunAsync("connect", "envoy", "-sidecar-for", "web", "-bootstrap");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var b = Parse(run.Out);
        Assert.Equal("web-sidecar-proxy", b.GetProperty("node").GetProperty("id").GetString());
        Assert.Equal("web", b.GetProperty("node").GetProperty("cluster").GetString());
        var agent = b.GetProperty("static_resources").GetProperty("clusters")[0];
        Assert.Equal("local_agent", agent.GetProperty("name").GetString());
        var address = agent.GetProperty("load_assignment").GetProperty("endpoints")[0].GetProperty("lb_endpoints")[0]
            .GetProperty("endpoint").GetProperty("address").GetProperty("socket_address");
        // No -grpc-addr: the agent's own gRPC port on loopback.
        Assert.Equal(("127.0.0.1", 8503), (address.GetProperty("address").GetString(), address.GetProperty("port_value").GetInt32()));
        var admin = b.GetProperty("admin").GetProperty("address").GetProperty("socket_address");
        Assert.Equal(("127.0.0.1", 19000), (admin.GetProperty("address").GetString(), admin.GetProperty("port_value").GetInt32()));
        Assert.Contains(b.GetProperty("stats_config").GetProperty("stats_tags").EnumerateArray(),
            t => t.GetProperty("tag_name").GetString() == "consul.source.datacenter" && t.GetProperty("fixed_value").GetString() == "dc7");
        Assert.Empty(cli.Handler.Unrouted);
    }

    [Fact]
    public async Task SidecarFor_NoProxy_Error()
    {
        var cli = Agent(Services("""  "web":{"ID":"web","Service":"web","Port":8080} """));

        var run = await cli.RunAsync("connect", "envoy", "-sidecar-for", "web", "-bootstrap");

        Assert.Equal((1, "", "No sidecar proxy registered for web\n"), (run.ExitCode, run.Out, run.Err));
    }

    [Fact]
    public async Task SidecarFor_TwoProxies_ErrorListsTheirIds()
    {
        var cli = Agent(Services(Sidecar("web-sidecar-proxy", "web"), Sidecar("web-proxy-2", "web"), Sidecar("db-sidecar-proxy", "db")));

        var run = await cli.RunAsync("connect", "envoy", "-sidecar-for", "web", "-bootstrap");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("More than one sidecar proxy registered for web.\n    Start proxy with -proxy-id and one of the following IDs: web-proxy-2, web-sidecar-proxy\n", run.Err);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task SidecarForFromEnvironment_Used()
    {
        var cli = Agent(Services(Sidecar("web-sidecar-proxy", "web")));
        cli.Env["CONNECT_SIDECAR_FOR"] = "web";

        var run = await cli.RunAsync("connect", "envoy", "-bootstrap");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("web-sidecar-proxy", Parse(run.Out).GetProperty("node").GetProperty("id").GetString());
    }

    [Fact]
    public async Task ProxyId_ReadsThatServiceWithoutListing()
    {
        var cli = Agent();

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap", "-admin-bind", "127.0.0.1:19005");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        Assert.DoesNotContain("GET /v1/agent/services", cli.Handler.Log);
        var admin = Parse(run.Out).GetProperty("admin").GetProperty("address").GetProperty("socket_address");
        Assert.Equal(19005, admin.GetProperty("port_value").GetInt32());
    }

    [Fact]
    public async Task ProxyId_Unknown_ErrorFromAgent()
    {
        var run = await Agent().RunAsync("connect", "envoy", "-proxy-id", "unknown", "-bootstrap");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("failed fetch proxy config from local agent: Unexpected response code: 404 (unknown service ID: unknown)\n", run.Err);
    }

    [Fact]
    public async Task NoProxyId_Error()
    {
        var run = await Agent().RunAsync("connect", "envoy", "-bootstrap");

        Assert.Equal((1, "No proxy ID specified. One of -proxy-id or -sidecar-for is required\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Token_SentToAgentAndPutInTheBootstrap()
    {
        var cli = Agent();

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap", "-token", "s3cret");

        Assert.Equal(0, run.ExitCode);
        Assert.All(cli.Handler.Requests, r => Assert.Equal("s3cret", r.Token));
        var metadata = Parse(run.Out).GetProperty("dynamic_resources").GetProperty("ads_config").GetProperty("grpc_services")[0].GetProperty("initial_metadata")[0];
        Assert.Equal(("x-consul-token", "s3cret"), (metadata.GetProperty("key").GetString(), metadata.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task ProxyDefaults_SettingsApplied_ProxyConfigWins()
    {
        // proxy-defaults asks for a stats listener on 9100 and a Prometheus one; the proxy's own Config moves the
        // stats listener to 9200.
        var cli = Agent(proxyDefaults: """{"envoy_stats_bind_addr":"0.0.0.0:9100","envoy_prometheus_bind_addr":"0.0.0.0:9102","envoy_stats_flush_interval":"7s"}""");

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var b = Parse(run.Out);
        Assert.Equal(["envoy_prometheus_metrics_listener", "envoy_metrics_listener"], ListenerNames(b));
        var ports = b.GetProperty("static_resources").GetProperty("listeners").EnumerateArray()
            .Select(l => l.GetProperty("address").GetProperty("socket_address").GetProperty("port_value").GetInt32());
        Assert.Equal([9102, 9200], ports);
        Assert.Equal("7s", b.GetProperty("stats_flush_interval").GetString());
    }

    [Fact]
    public async Task BadJsonSetting_ErrorNamesItExit1()
    {
        var cli = Agent(proxyDefaults: """{"envoy_tracing_json":"{\"http\":"}""");

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap");

        Assert.Equal((1, ""), (run.ExitCode, run.Out));
        Assert.StartsWith("envoy_tracing_json: invalid JSON", run.Err);
    }

    [Fact]
    public async Task GrpcAddrFromEnvironment_HttpsWithCaFile_TlsToThatAddress()
    {
        var ca = Path.Combine(_dir, "ca.pem");
        await File.WriteAllTextAsync(ca, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        var cli = Agent();
        cli.Env["MESH_GRPC_ADDR"] = "https://10.1.2.3:8503";

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap", "-grpc-ca-file", ca);

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var agent = Parse(run.Out).GetProperty("static_resources").GetProperty("clusters")[0];
        var address = agent.GetProperty("load_assignment").GetProperty("endpoints")[0].GetProperty("lb_endpoints")[0]
            .GetProperty("endpoint").GetProperty("address").GetProperty("socket_address");
        Assert.Equal(("10.1.2.3", 8503), (address.GetProperty("address").GetString(), address.GetProperty("port_value").GetInt32()));
        Assert.Equal(await File.ReadAllTextAsync(ca), agent.GetProperty("transport_socket").GetProperty("typed_config")
            .GetProperty("common_tls_context").GetProperty("validation_context").GetProperty("trusted_ca").GetProperty("inline_string").GetString());
        Assert.DoesNotContain("GET /v1/agent/self", cli.Handler.Log);
    }

    [Fact]
    public async Task GrpcHttpsWithHttpCaFile_ThatCaTrusted()
    {
        var ca = Path.Combine(_dir, "http-ca.pem");
        await File.WriteAllTextAsync(ca, "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n");

        var run = await Agent().RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap", "-grpc-addr", "https://127.0.0.1:8503", "-ca-file", ca);

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        Assert.Contains("BBBB", Parse(run.Out).GetProperty("static_resources").GetProperty("clusters")[0].GetProperty("transport_socket").GetRawText());
    }

    [Fact]
    public async Task GrpcUnixSocket_PipeToTheAgent()
    {
        var run = await Agent().RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap", "-grpc-addr", "unix:///run/mesh/grpc.sock");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var address = Parse(run.Out).GetProperty("static_resources").GetProperty("clusters")[0].GetProperty("load_assignment")
            .GetProperty("endpoints")[0].GetProperty("lb_endpoints")[0].GetProperty("endpoint").GetProperty("address");
        Assert.Equal("/run/mesh/grpc.sock", address.GetProperty("pipe").GetProperty("path").GetString());
    }

    [Fact]
    public async Task GrpcHttpsWithoutCa_Error()
    {
        var run = await Agent().RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap", "-grpc-addr", "https://127.0.0.1:8503");

        Assert.Equal((1, ""), (run.ExitCode, run.Out));
        Assert.Contains("no CA to verify the agent", run.Err);
    }

    [Fact]
    public async Task AdminBind_Malformed_Error()
    {
        var run = await Agent().RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap", "-admin-bind", "19000");

        Assert.Equal((1, "Invalid admin bind address: \"19000\" must be <host>:<port>\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task NoEnvoyOnPath_ClearErrorAndNothingLaunched()
    {
        var launcher = new RecordingLauncher();
        var cli = Agent();
        cli.EnvoyLauncher = launcher;
        cli.Env["PATH"] = _dir;

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy");

        Assert.Equal((1, "", "envoy binary not found on $PATH: install Envoy or pass -envoy-binary\n"), (run.ExitCode, run.Out, run.Err));
        Assert.Null(launcher.Binary);
    }

    [Fact]
    public async Task EnvoyBinaryMissing_ErrorNamesThePath()
    {
        var launcher = new RecordingLauncher();
        var cli = Agent();
        cli.EnvoyLauncher = launcher;
        var missing = Path.Combine(_dir, "no-envoy");

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-envoy-binary", missing);

        Assert.Equal((1, $"envoy binary not found at {missing}\n"), (run.ExitCode, run.Err));
        Assert.Null(launcher.Binary);
    }

    [Fact]
    public async Task EnvoyOnPath_LaunchedWithPrivateBootstrapFileAndPassThroughArgs()
    {
        var envoy = Path.Combine(_dir, "envoy");
        await File.WriteAllTextAsync(envoy, "#!/bin/sh\n");
        File.SetUnixFileMode(envoy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var launcher = new RecordingLauncher(exitCode: 3);
        var cli = Agent();
        cli.EnvoyLauncher = launcher;
        cli.Env["PATH"] = "/nonexistent:" + _dir;

        var run = await cli.RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "--", "--log-level", "debug");
        var bootstrap = await Agent().RunAsync("connect", "envoy", "-proxy-id", "web-sidecar-proxy", "-bootstrap");

        Assert.Equal((3, "", ""), (run.ExitCode, run.Out, run.Err));
        Assert.Equal(envoy, launcher.Binary);
        Assert.Equal("--config-path", launcher.Args[0]);
        Assert.Equal(["--log-level", "debug"], launcher.Args.Skip(2));
        Assert.Equal(bootstrap.Out, launcher.ConfigText);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, launcher.ConfigMode);
        // The launcher returned (Envoy ran as a child or failed): the temporary file is gone.
        Assert.False(File.Exists(launcher.Args[1]));
    }

    [Fact]
    public async Task Connect_Alone_ListsCaEnvoyAndProxy()
    {
        var run = await new CliHarness().RunAsync("connect");

        Assert.Equal(1, run.ExitCode);
        Assert.EndsWith("Subcommands:\n    ca       Interact with the Connect Certificate Authority (CA)\n    envoy    Runs or Configures Envoy as a Connect proxy\n" +
                         "    proxy    Runs the native Connect sidecar proxy\n", run.Err);
    }
}
