using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// The agent's own cost of health checking: 5,000 services registered with the agent, each with an HTTP check
/// (every 10 s, against a small HTTP server this program runs) and a TTL check, so 10,000 checks. After the first
/// round, the agent's CPU time is sampled over three intervals and reported as a share of one core.
/// </summary>
internal sealed class AgentChecksScenario : IScenario
{
    private const int Services = 5_000;
    private const double TargetPercentOfOneCore = 50;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    public string Name => "agent-checks";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        using var target = new OkServer();
        var serverTask = target.RunAsync(cancellation);
        context.Log.WriteLine($"{Name}: registering {Services:#,0} services with an HTTP and a TTL check each");
        await Parallel.ForEachAsync(Enumerable.Range(0, Services), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation },
            async (i, ct) => await context.Api.PutJsonAsync("/v1/agent/service/register", $$$"""
                {"Name":"chk-svc-{{{i}}}","ID":"chk-svc-{{{i}}}","Port":{{{target.Port}}},
                 "Checks":[{"CheckID":"http-{{{i}}}","HTTP":"http://127.0.0.1:{{{target.Port}}}/health","Interval":"10s","Timeout":"2s"},
                           {"CheckID":"ttl-{{{i}}}","TTL":"1h","Status":"passing"}]}
                """, ct));

        // Let the first round of HTTP checks (and the catalog sync it causes) pass before measuring steady state.
        await Task.Delay(Interval + TimeSpan.FromSeconds(2), cancellation);
        var window = TimeSpan.FromTicks(Interval.Ticks * 3);
        var servedBefore = target.Served;
        var ticks = context.Agent.CpuTicks();
        context.Log.WriteLine($"{Name}: sampling agent CPU over {window.TotalSeconds:0} s");
        await Task.Delay(window, cancellation);
        var cpuSeconds = (context.Agent.CpuTicks() - ticks) / (double)ProcFs.UserHz;
        var probes = target.Served - servedBefore;
        var checks = await context.Api.GetStringAsync("/v1/agent/checks", cancellation);
        var passing = System.Text.Json.JsonDocument.Parse(checks).RootElement.EnumerateObject()
            .Count(c => c.Value.GetProperty("Status").GetString() == "passing");

        return new ScenarioResult(Name,
        [
            new Figure("agent CPU, % of one core", "cpu_percent_one_core", cpuSeconds / window.TotalSeconds * 100, "%",
                new Target(TargetKind.Below, TargetPercentOfOneCore)),
            new Figure("HTTP probes served per second", "probes_per_sec", probes / window.TotalSeconds, "/s"),
            new Figure("checks passing", "checks_passing", passing, ""),
            new Figure("agent RSS", "rss_mb", context.Agent.RssBytes() / (1024.0 * 1024.0), "MB"),
        ], [$"{Services:#,0} services, {Services * 2:#,0} checks (HTTP every {Interval.TotalSeconds:0} s and TTL)"]);
    }

    /// <summary>A minimal HTTP/1.1 server answering 200 "ok" and closing, as health checks expect of a target.</summary>
    private sealed class OkServer : IDisposable
    {
        private static readonly byte[] Response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private long _served;

        public OkServer()
        {
            _listener.Start(4096);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public long Served => Interlocked.Read(ref _served);

        public async Task RunAsync(CancellationToken cancellation)
        {
            try
            {
                while (!cancellation.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(cancellation);
                    _ = AnswerAsync(client, cancellation);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }

        private async Task AnswerAsync(TcpClient client, CancellationToken cancellation)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var buffer = new byte[4096];
                    var seen = 0;
                    // Read the request head; its end is an empty line.
                    while (seen < buffer.Length)
                    {
                        var n = await stream.ReadAsync(buffer.AsMemory(seen), cancellation);
                        if (n == 0) return;
                        seen += n;
                        if (buffer.AsSpan(0, seen).IndexOf("\r\n\r\n"u8) >= 0) break;
                    }
                    await stream.WriteAsync(Response, cancellation);
                    Interlocked.Increment(ref _served);
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                {
                }
            }
        }

        public void Dispose() => _listener.Stop();
    }
}
