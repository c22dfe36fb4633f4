using System.Globalization;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// The reference pair: two HAProxy processes, each with one thread, doing what two sidecars do. The outbound one
/// takes plain HTTP on loopback and forwards over TLS with a client certificate, the target's SNI and verification of
/// the server's chain against the roots; the inbound one terminates TLS, requires and verifies the client certificate,
/// and forwards to the app. HTTP mode on both, keep-alive on every hop.
/// </summary>
internal sealed class HaproxyPair : IProxyPair
{
    private HaproxyPair(int entryPort, ChildProcess outbound, ChildProcess inbound)
    {
        EntryPort = entryPort;
        Outbound = outbound;
        Inbound = inbound;
    }

    public string Name => "haproxy";

    public int EntryPort { get; }

    public ChildProcess Outbound { get; }

    public ChildProcess Inbound { get; }

    /// <summary>haproxy's version line ("HAProxy version 2.6.12-1+deb12u4 ...").</summary>
    public static string Version(string haproxy) => Tools.FirstLine(haproxy, "-v");

    public static async Task<HaproxyPair> StartAsync(string haproxy, string directory, SidecarPki pki, int appPort, CancellationToken cancellation)
    {
        Directory.CreateDirectory(directory);
        var roots = Path.Combine(directory, "roots.pem");
        var webPem = Path.Combine(directory, "web.pem");
        var apiPem = Path.Combine(directory, "api.pem");
        await File.WriteAllTextAsync(roots, pki.RootsPem, cancellation);
        await File.WriteAllTextAsync(webPem, pki.LeafWithKeyPem("web"), cancellation);
        await File.WriteAllTextAsync(apiPem, pki.LeafWithKeyPem("api", dnsName: pki.Sni("api")), cancellation);

        var entryPort = ChildProcess.FreePort();
        var publicPort = ChildProcess.FreePort();
        // HAProxy 2.6 matches the server certificate's DNS names against the SNI it sends, and cannot turn that off
        // or match a URI SAN. So the api leaf also carries its SNI as a DNS name: HAProxy then checks the server's
        // identity by name where Mesh's sidecar checks it by SPIFFE ID, the same guarantee and about the same work.
        var outbound = $$"""
            {{Global}}
            frontend outbound
                bind 127.0.0.1:{{Port(entryPort)}}
                default_backend api
            backend api
                server s1 127.0.0.1:{{Port(publicPort)}} ssl crt {{webPem}} ca-file {{roots}} verify required sni str({{pki.Sni("api")}}) alpn http/1.1
            """;
        var inbound = $$"""
            {{Global}}
            frontend public
                bind 127.0.0.1:{{Port(publicPort)}} ssl crt {{apiPem}} ca-file {{roots}} verify required alpn http/1.1
                default_backend app
            backend app
                server app 127.0.0.1:{{Port(appPort)}}
            """;

        var inboundProcess = await StartOneAsync(haproxy, directory, "inbound", inbound, publicPort, cancellation);
        try
        {
            var outboundProcess = await StartOneAsync(haproxy, directory, "outbound", outbound, entryPort, cancellation);
            return new HaproxyPair(entryPort, outboundProcess, inboundProcess);
        }
        catch
        {
            await inboundProcess.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Outbound.DisposeAsync();
        await Inbound.DisposeAsync();
    }

    // One thread per process, as each Mesh sidecar is one process. maxconn sets the descriptors HAProxy asks for
    // (about twice as many) and must fit a common 20,000 limit, far above the 128+16 connections used. Timeouts are long so nothing is closed mid-run;
    // "http-keep-alive" is HAProxy's default mode, spelled out because the comparison depends on it. TLS 1.2 at least,
    // as the sidecars accept.
    private const string Global = """
        global
            nbthread 1
            maxconn 4000
            ssl-default-bind-options ssl-min-ver TLSv1.2
            ssl-default-server-options ssl-min-ver TLSv1.2
        defaults
            mode http
            option http-keep-alive
            timeout connect 5s
            timeout client 600s
            timeout server 600s
            timeout http-keep-alive 600s
        """;

    private static async Task<ChildProcess> StartOneAsync(string haproxy, string directory, string role, string config, int port,
        CancellationToken cancellation)
    {
        var path = Path.Combine(directory, $"haproxy-{role}.cfg");
        await File.WriteAllTextAsync(path, config + "\n", cancellation);
        // -db: stay in the foreground, no daemon, so the process is ours to measure and kill.
        var process = ChildProcess.Start($"haproxy ({role})", haproxy, ["-db", "-f", path], directory);
        try
        {
            await process.WaitForPortAsync(port, TimeSpan.FromSeconds(20), cancellation);
            return process;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}
