using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary>
/// <c>mesh connect envoy</c> against a real agent of its own (it writes the cluster-wide <c>proxy-defaults</c>
/// entry, which must not leak into other tests), and the real <c>mesh</c> process becoming a stand-in Envoy.
/// </summary>
public sealed class ConnectEnvoyEndToEndTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-envoy-e2e-").FullName;
    private AgentProcess _agent = null!;

    public async Task InitializeAsync()
    {
        _agent = await AgentProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = _agent.BaseAddress };
        await Put(http, "v1/agent/service/register", """
            {"Name":"counting","ID":"counting-1","Port":9003,
             "Connect":{"SidecarService":{"Proxy":{"Config":{"envoy_prometheus_bind_addr":"0.0.0.0:9102","envoy_stats_flush_interval":"3s"}}}}}
            """);
        await Put(http, "v1/config", """
            {"Kind":"proxy-defaults","Name":"global","Config":{"envoy_stats_flush_interval":"10s","envoy_stats_tags":["team=counting"]}}
            """);
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task Put(HttpClient http, string path, string body)
    {
        using var response = await http.PutAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task SidecarFor_RealAgent_BootstrapForTheSidecarWithProxyDefaultsUnderItsConfig()
    {
        var cli = new CliHarness { UseNetwork = true };
        cli.Env["MESH_HTTP_ADDR"] = _agent.HostPort;

        var run = await cli.RunAsync("connect", "envoy", "-sidecar-for", "counting-1", "-bootstrap");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var b = JsonDocument.Parse(run.Out).RootElement;
        Assert.Equal("counting-1-sidecar-proxy", b.GetProperty("node").GetProperty("id").GetString());
        Assert.Equal("counting", b.GetProperty("node").GetProperty("cluster").GetString());
        Assert.Equal("envoy_prometheus_metrics_listener", b.GetProperty("static_resources").GetProperty("listeners")[0].GetProperty("name").GetString());
        // The proxy's own flush interval wins over proxy-defaults'; proxy-defaults still adds its tags.
        Assert.Equal("3s", b.GetProperty("stats_flush_interval").GetString());
        var tags = b.GetProperty("stats_config").GetProperty("stats_tags");
        Assert.Equal(("team", "counting"), (tags[0].GetProperty("tag_name").GetString(), tags[0].GetProperty("fixed_value").GetString()));
        Assert.Contains(tags.EnumerateArray(), t => t.GetProperty("tag_name").GetString() == "consul.source.datacenter" && t.GetProperty("fixed_value").GetString() == "dc1");
    }

    [Fact]
    public async Task Run_RealProcess_BecomesEnvoyWithSamePidArgsAndExitCode()
    {
        if (OperatingSystem.IsWindows()) return; // Envoy runs as a child there; the exec path is Unix-only.
        var envoy = Path.Combine(_dir, "fake-envoy");
        await File.WriteAllTextAsync(envoy, "#!/bin/sh\necho \"pid=$$\"\necho \"args=$*\"\ncat \"$2\"\nexit 7\n");
        File.SetUnixFileMode(envoy, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var info = new ProcessStartInfo(AgentProcess.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "mesh.dll"), "connect", "envoy", "-http-addr", _agent.HostPort,
                     "-sidecar-for", "counting-1", "-envoy-binary", envoy, "--", "--log-level", "debug"])
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        var output = await stdout;
        Assert.True(process.ExitCode == 7, $"exit {process.ExitCode}\nstdout:\n{output}\nstderr:\n{await stderr}");
        var lines = output.Split('\n', 3);
        // The same process: execv replaced the CLI, so a supervisor watching this PID watches Envoy.
        Assert.Equal($"pid={process.Id}", lines[0]);
        Assert.Matches(@"^args=--config-path /\S+/bootstrap\.json --log-level debug$", lines[1]);
        var bootstrap = JsonDocument.Parse(lines[2]).RootElement;
        Assert.Equal("counting-1-sidecar-proxy", bootstrap.GetProperty("node").GetProperty("id").GetString());
    }
}
