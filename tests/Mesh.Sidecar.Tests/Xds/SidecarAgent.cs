using System.Text;
using Mesh.Agent.Config;
using Mesh.Agent.Hosting;

namespace Mesh.Sidecar.Tests.Xds;

/// <summary>
/// A real dev agent in this process (its HTTP API and its xDS server on free ports, or gRPC on a given port to come
/// back where a stopped one was), with <c>web</c> and its sidecar <c>web-sidecar-proxy</c> registered.
/// </summary>
internal sealed class SidecarAgent : IAsyncDisposable
{
    public const string ProxyId = "web-sidecar-proxy";

    private readonly StringWriter _log;

    private SidecarAgent(AgentHost host, StringWriter log)
    {
        Host = host;
        _log = log;
        Http = new HttpClient { BaseAddress = host.HttpAddresses[0], Timeout = TimeSpan.FromSeconds(30) };
    }

    public AgentHost Host { get; }

    public HttpClient Http { get; }

    /// <summary>The agent's gRPC (xDS) address.</summary>
    public Uri Grpc => Host.GrpcAddresses[0];

    /// <summary>Everything the agent logged so far.</summary>
    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    public static async Task<SidecarAgent> StartAsync(int grpcPort = 0)
    {
        var config = new AgentConfig
        {
            DevMode = true,
            Server = true,
            Bootstrap = true,
            NodeName = "node-" + Guid.NewGuid().ToString("N")[..8],
            ClientAddr = "127.0.0.1",
            BindAddr = "127.0.0.1",
            LogLevel = "debug",
            Ports = new PortsConfig { Http = 0, Dns = -1, Grpc = grpcPort },
        };
        var log = new StringWriter();
        var host = await AgentHost.StartAsync(config, TextWriter.Synchronized(log));
        var agent = new SidecarAgent(host, log);
        await agent.PutAsync("/v1/agent/service/register", """{"ID":"web","Name":"web","Port":8080}""");
        await agent.RegisterProxyAsync();
        return agent;
    }

    /// <summary>(Re-)registers the sidecar with the given upstreams (JSON objects).</summary>
    public Task RegisterProxyAsync(params string[] upstreams) => PutAsync("/v1/agent/service/register", $$$"""
        {"Kind":"connect-proxy","ID":"{{{ProxyId}}}","Name":"web-sidecar-proxy","Port":21000,
         "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web","LocalServicePort":8080,
                  "Upstreams":[{{{string.Join(",", upstreams)}}}]}}
        """);

    public async Task PutAsync(string path, string body)
    {
        using var response = await Http.PutAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The agent's counter of ACKs (or NACKs) for a type, e.g. <c>cds</c>, <c>acks</c>.</summary>
    public async Task<long> XdsCountAsync(string type, string what)
    {
        var text = await Http.GetStringAsync("/v1/agent/metrics?format=prometheus");
        var suffix = $"xds_{type}_{what}";
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#')) continue;
            var space = line.IndexOf(' ');
            if (space > 0 && line[..space].EndsWith(suffix, StringComparison.Ordinal)) return (long)double.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
    }
}
