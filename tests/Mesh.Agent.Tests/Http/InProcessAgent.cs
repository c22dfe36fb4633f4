using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Mesh.Agent.Config;
using Mesh.Agent.Hosting;

namespace Mesh.Agent.Tests.Http;

/// <summary>A dev agent in this process on a free port, with an HTTP client pointed at it.</summary>
internal sealed class InProcessAgent : IAsyncDisposable
{
    private readonly StringWriter _log = new();

    private InProcessAgent(AgentHost host, HttpClient client)
    {
        Host = host;
        Client = client;
    }

    public AgentHost Host { get; }
    public HttpClient Client { get; }
    public string Log => _log.ToString();

    public static async Task<InProcessAgent> StartAsync(Func<AgentConfig, AgentConfig>? configure = null, TimeProvider? time = null)
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
            // DNS and gRPC stay off unless a test asks for them (0 picks a free port).
            Ports = new PortsConfig { Http = 0, Dns = -1, Grpc = -1 },
            SessionTtlMin = TimeSpan.FromMilliseconds(100),
        };
        config = configure?.Invoke(config) ?? config;
        var agent = new InProcessAgent(null!, null!);
        var host = await AgentHost.StartAsync(config, TextWriter.Synchronized(agent._log), time: time);
        var client = new HttpClient { BaseAddress = host.HttpAddresses[0], Timeout = TimeSpan.FromSeconds(30) };
        return new InProcessAgent(host, client, agent._log);
    }

    private InProcessAgent(AgentHost host, HttpClient client, StringWriter log) : this(host, client) => _log = log;

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null) req.Content = new StringContent(body, Encoding.UTF8);
        return await Client.SendAsync(req);
    }

    public Task<HttpResponseMessage> PutAsync(string path, string? body = null) => SendAsync(HttpMethod.Put, path, body);

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public async Task<JsonElement> JsonAsync(string path)
    {
        using var resp = await GetAsync(path);
        Assert.True(resp.IsSuccessStatusCode, $"{path}: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async Task<string> CreateSessionAsync(string body = "{}")
    {
        using var resp = await PutAsync("/v1/session/create", body);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("ID").GetString()!;
    }

    public static ulong Index(HttpResponseMessage resp) => ulong.Parse(resp.Headers.GetValues("X-Consul-Index").Single());

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}
