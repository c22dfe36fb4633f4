using System.Text.Json;
using Mesh.Cli.Commands.Services;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Services;

public sealed class ServicesCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-services-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static CliHarness Agent()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/service/register", 200);
        return cli;
    }

    private static string Normalize(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);

    [Fact]
    public async Task Register_FromFlags_SendsPascalCaseBodyInGoOrder()
    {
        var cli = Agent();
        var run = await cli.RunAsync("services", "register", "-name=web", "-id=web-1", "-address=10.0.0.5", "-port=8080",
            "-tag=v1", "-tag", "primary", "-meta=version=1.2", "-meta", "team=core");
        Assert.Equal((0, "Registered service: web\n", ""), (run.ExitCode, run.Out, run.Err));
        var request = Assert.Single(cli.Handler.Requests);
        Assert.Equal("PUT /v1/agent/service/register", request.ToString());
        Assert.Equal("""{"ID":"web-1","Name":"web","Tags":["v1","primary"],"Port":8080,"Address":"10.0.0.5","Meta":{"team":"core","version":"1.2"}}""",
            request.BodyText);
    }

    [Fact]
    public async Task Register_OnlyName_OmitsEmptyFields()
    {
        var cli = Agent();
        await cli.RunAsync("services", "register", "-name=web", "-token=secret");
        var request = Assert.Single(cli.Handler.Requests);
        Assert.Equal("""{"Name":"web"}""", request.BodyText);
        Assert.Equal("secret", request.Token);
    }

    [Fact]
    public async Task Register_SnakeCaseFile_TranslatedRecursivelyKeepingUserKeys()
    {
        var file = File("web.json", """
            {
              // agent config files may carry comments
              "service": {
                "name": "web", "id": "web-1", "port": 80, "enable_tag_override": true,
                "meta": {"my_key": "x"},
                "tagged_addresses": {"lan_ipv4": {"address": "10.0.0.1", "port": 80}},
                "check": {"id": "web-alive", "http": "http://localhost/health", "interval": "10s", "tls_skip_verify": true,
                          "header": {"x_custom": ["1"]}},
                "weights": {"passing": 3, "warning": 1},
                "connect": {"sidecar_service": {"port": 21000, "proxy": {"local_service_port": 80,
                            "config": {"envoy_prometheus_bind_addr": "0.0.0.0:9102"},
                            "upstreams": [{"destination_name": "db", "local_bind_port": 5432}]}}}
              }
            }
            """);
        var cli = Agent();
        var run = await cli.RunAsync("services", "register", file);
        Assert.Equal((0, "Registered service: web\n"), (run.ExitCode, run.Out));
        Assert.Equal(Normalize("""
            {"Name":"web","ID":"web-1","Port":80,"EnableTagOverride":true,"Meta":{"my_key":"x"},
             "TaggedAddresses":{"lan_ipv4":{"Address":"10.0.0.1","Port":80}},
             "Check":{"CheckID":"web-alive","HTTP":"http://localhost/health","Interval":"10s","TLSSkipVerify":true,
                      "Header":{"x_custom":["1"]}},
             "Weights":{"Passing":3,"Warning":1},
             "Connect":{"SidecarService":{"Port":21000,"Proxy":{"LocalServicePort":80,
                        "Config":{"envoy_prometheus_bind_addr":"0.0.0.0:9102"},
                        "Upstreams":[{"DestinationName":"db","LocalBindPort":5432}]}}}}
            """), Normalize(Assert.Single(cli.Handler.Requests).BodyText));
    }

    [Fact]
    public async Task Register_ServicesListAndPascalCase_RegistersEachInOrder()
    {
        var a = File("a.json", """{"services": [{"Name": "api", "Checks": [{"id": "c1", "args": ["/bin/true"], "interval": "5s"}]}, {"name": "db"}]}""");
        var b = File("b.json", """{"Service": {"Name": "cache", "Kind": "typical"}}""");
        var cli = Agent();
        var run = await cli.RunAsync("services", "register", a, b);
        Assert.Equal((0, "Registered service: api\nRegistered service: db\nRegistered service: cache\n"), (run.ExitCode, run.Out));
        var bodies = cli.Handler.Requests.Select(r => Normalize(r.BodyText)).ToList();
        Assert.Equal(Normalize("""{"Name":"api","Checks":[{"CheckID":"c1","ScriptArgs":["/bin/true"],"Interval":"5s"}]}"""), bodies[0]);
        Assert.Equal("""{"Name":"db"}""", bodies[1]);
        Assert.Equal("""{"Name":"cache","Kind":"typical"}""", bodies[2]);
    }

    [Fact]
    public async Task Register_FileWithFlags_FlagsFillGapsMetaOverridesTagsAppend()
    {
        var file = File("web.json", """{"service": {"name": "web", "port": 80, "tags": ["a"], "meta": {"k": "file", "f": "1"}}}""");
        var cli = Agent();
        var run = await cli.RunAsync("services", "register", "-id=web-9", "-port=9999", "-address=10.1.1.1", "-tag=b", "-meta=k=flag", file);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(Normalize("""{"Name":"web","Port":80,"Tags":["a","b"],"Meta":{"k":"flag","f":"1"},"ID":"web-9","Address":"10.1.1.1"}"""),
            Normalize(Assert.Single(cli.Handler.Requests).BodyText));
    }

    [Fact]
    public async Task Register_NoArgsNoName_Exit1()
    {
        var cli = Agent();
        var run = await cli.RunAsync("services", "register", "-port=80");
        Assert.Equal((1, "Service registration requires at least one argument or flags.\n"), (run.ExitCode, run.Err));
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Register_FileAndName_Exit1()
    {
        var run = await Agent().RunAsync("services", "register", "-name=web", File("x.json", "{}"));
        Assert.Equal((1, "Service registration requires arguments or -id, not both.\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Register_BadPort_FlagErrorExit1()
    {
        var cli = Agent();
        var run = await cli.RunAsync("services", "register", "-name=web", "-port=http");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("invalid value \"http\" for flag -port: parse error\n", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Register_BadMeta_FlagErrorExit1()
    {
        var run = await Agent().RunAsync("services", "register", "-name=web", "-meta=oops");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("invalid value \"oops\" for flag -meta: Missing \"=\" value in argument: oops\n", run.Err);
    }

    [Fact]
    public async Task Register_MissingFile_ErrorNamesFileExit1()
    {
        var cli = Agent();
        var path = Path.Combine(_dir, "missing.json");
        var run = await cli.RunAsync("services", "register", path);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"Error: Error reading \"{path}\": ", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Register_MalformedJson_ErrorExit1()
    {
        var path = File("bad.json", """{"service": {"name": "web",""");
        var cli = Agent();
        var run = await cli.RunAsync("services", "register", path);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"Error: Error parsing {path}: ", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Register_FileWithoutService_ErrorExit1()
    {
        var path = File("empty.json", """{"node_name": "x"}""");
        var run = await Agent().RunAsync("services", "register", path);
        Assert.Equal((1, $"Error: Error parsing {path}: no \"service\" or \"services\" definition\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Register_ServiceNotAnObject_ErrorExit1()
    {
        var path = File("odd.json", """{"service": "web"}""");
        var run = await Agent().RunAsync("services", "register", path);
        Assert.Equal((1, $"Error: Error parsing {path}: 'service' must hold service definition objects\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Register_AgentAnswers400_ShowsAnswerExit1()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/service/register", 400, "Invalid check: TTL must be > 0 for TTL checks\n");
        var run = await cli.RunAsync("services", "register", "-name=web");
        Assert.Equal((1, "", "Error registering service \"web\": Unexpected response code: 400 (Invalid check: TTL must be > 0 for TTL checks)\n"),
            (run.ExitCode, run.Out, run.Err));
    }

    [Fact]
    public async Task Register_StopsAtFirstFailure()
    {
        var file = File("two.json", """{"services": [{"name": "ok"}, {"name": "bad"}, {"name": "never"}]}""");
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/service/register", r => StubHandler.Response(r.BodyText.Contains("bad") ? 400 : 200, "nope"));
        var run = await cli.RunAsync("services", "register", file);
        Assert.Equal((1, "Registered service: ok\n", "Error registering service \"bad\": Unexpected response code: 400 (nope)\n"),
            (run.ExitCode, run.Out, run.Err));
        Assert.Equal(2, cli.Handler.Requests.Count);
    }

    [Fact]
    public async Task Register_ConnectionRefused_Exit1()
    {
        var cli = new CliHarness { UseNetwork = true };
        var port = Http.ApiClientTests.ClosedPort();
        cli.Env["MESH_HTTP_ADDR"] = $"127.0.0.1:{port}";
        var run = await cli.RunAsync("services", "register", "-name=web");
        Assert.Equal((1, $"Error registering service \"web\": Put \"http://127.0.0.1:{port}/v1/agent/service/register\": dial tcp 127.0.0.1:{port}: connect: connection refused\n"),
            (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Deregister_ById_PutsDeregister()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/service/deregister/web-1", 200);
        var run = await cli.RunAsync("services", "deregister", "-id=web-1", "-dc=dc2");
        Assert.Equal((0, "Deregistered service: web-1\n"), (run.ExitCode, run.Out));
        Assert.Equal(["PUT /v1/agent/service/deregister/web-1?dc=dc2"], cli.Handler.Log);
    }

    [Fact]
    public async Task Deregister_FromFiles_UsesIdElseName()
    {
        var file = File("svcs.json", """{"services": [{"name": "web", "id": "web-1"}, {"name": "db"}, {"port": 1}]}""");
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/service/deregister/web-1", 200);
        cli.Handler.On("PUT", "/v1/agent/service/deregister/db", 200);
        var run = await cli.RunAsync("services", "deregister", file);
        Assert.Equal((0, "Deregistered service: web-1\nDeregistered service: db\n"), (run.ExitCode, run.Out));
        Assert.Equal(["PUT /v1/agent/service/deregister/web-1", "PUT /v1/agent/service/deregister/db"], cli.Handler.Log);
    }

    [Fact]
    public async Task Deregister_NeitherIdNorFile_Exit1()
    {
        var run = await new CliHarness().RunAsync("services", "deregister");
        Assert.Equal((1, "Service deregistration requires at least one argument or -id.\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Deregister_IdAndFile_Exit1()
    {
        var run = await new CliHarness().RunAsync("services", "deregister", "-id=x", File("x.json", "{}"));
        Assert.Equal((1, "Service deregistration requires arguments or -id, not both.\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Deregister_Unknown_ShowsAgentAnswerExit1()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/service/deregister/ghost", 404, "Unknown service ID \"ghost\". Ensure that the service ID is passed, not the service name.");
        var run = await cli.RunAsync("services", "deregister", "-id=ghost");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error deregistering service \"\": Unexpected response code: 404 (Unknown service ID \"ghost\". Ensure that the service ID is passed, not the service name.)\n", run.Err);
    }

    [Fact]
    public async Task Deregister_MalformedFile_Exit1()
    {
        var path = File("bad.json", "not json");
        var run = await new CliHarness().RunAsync("services", "deregister", path);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"Error: Error parsing {path}: ", run.Err);
    }

    [Theory]
    [InlineData("enable_tag_override", false, "EnableTagOverride")]
    [InlineData("sidecar_service", false, "SidecarService")]
    [InlineData("local_service_port", false, "LocalServicePort")]
    [InlineData("id", false, "ID")]
    [InlineData("id", true, "CheckID")]
    [InlineData("service_id", true, "ServiceID")]
    [InlineData("deregister_critical_service_after", true, "DeregisterCriticalServiceAfter")]
    [InlineData("grpc_use_tls", true, "GRPCUseTLS")]
    [InlineData("ttl", true, "TTL")]
    [InlineData("h2ping", true, "H2PING")]
    [InlineData("EnableTagOverride", false, "EnableTagOverride")]
    [InlineData("ID", false, "ID")]
    public void ApiName_TranslatesConsulConfigKeys(string key, bool inCheck, string expected) =>
        Assert.Equal(expected, ServiceDefinitions.ApiName(key, inCheck));

    [Fact]
    public async Task Services_Alone_PrintsSubcommandsExit1()
    {
        var run = await new CliHarness().RunAsync("services");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("    deregister    Deregister services with the local agent\n", run.Err);
        Assert.Contains("    register      Register services with the local agent", run.Err);
    }
}
