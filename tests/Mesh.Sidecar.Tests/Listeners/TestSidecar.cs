using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Mesh.Sidecar.Listeners;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Tls;
using Mesh.Sidecar.Upstreams;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Listeners;

/// <summary>A proxy's data plane without xDS: publish a state, apply it, talk to the bound ports.</summary>
internal sealed class TestSidecar : IAsyncDisposable
{
    public TestSidecar(IHttpProxy? http = null, TimeSpan? drainTimeout = null)
    {
        Clusters = new ClusterManager(State, Metrics);
        Listeners = new ListenerManager(State, Clusters, http ?? new EchoHttpProxy(), Metrics, NullLoggerFactory.Instance, drainTimeout);
    }

    public StateHolder State { get; } = new();
    public SidecarMetrics Metrics { get; } = new();
    public ClusterManager Clusters { get; }
    public ListenerManager Listeners { get; }

    public async Task ApplyAsync(SidecarState state)
    {
        State.Publish(state);
        await Listeners.ApplyAsync(state, CancellationToken.None);
    }

    public IPEndPoint Address(string listener) => Listeners.BoundAddresses[listener];

    public async Task<TcpClient> ConnectAsync(string listener)
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await client.ConnectAsync(Address(listener));
        return client;
    }

    /// <summary>Opens a TLS connection to <paramref name="listener"/>, trusting <paramref name="root"/>.</summary>
    public async Task<(TcpClient Client, SslStream Tls)> ConnectTlsAsync(string listener, X509Certificate2 root, X509Certificate2? clientCertificate, params string[] alpn)
    {
        var client = await ConnectAsync(listener);
        var tls = new SslStream(client.GetStream(), false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "web.default",
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                certificate is not null && TrustVerifier.Verify(new X509Certificate2(certificate), [root], chain?.ChainPolicy.ExtraStore) is null,
            ApplicationProtocols = alpn.Length == 0 ? null : [.. alpn.Select(a => new SslApplicationProtocol(a))],
        };
        if (clientCertificate is not null) options.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, null, offline: true);
        try
        {
            await tls.AuthenticateAsClientAsync(options);
        }
        catch
        {
            await tls.DisposeAsync();
            client.Dispose();
            throw;
        }

        return (client, tls);
    }

    public async ValueTask DisposeAsync() => await Listeners.DisposeAsync();
}

/// <summary>Answers every request with its protocol, scheme and listener.</summary>
internal sealed class EchoHttpProxy : IHttpProxy
{
    public Task HandleAsync(HttpContext context, string listenerName) =>
        context.Response.WriteAsync($"{context.Request.Protocol} {context.Request.Scheme} {listenerName}");
}

/// <summary>Test helpers for streams.</summary>
internal static class StreamExtensions
{
    /// <summary>Reads exactly <paramref name="count"/> bytes as ASCII, or what came before end of stream.</summary>
    public static async Task<string> ReadTextAsync(this Stream stream, int count)
    {
        var buffer = new byte[count];
        var total = 0;
        while (total < count)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read == 0) break;
            total += read;
        }

        return System.Text.Encoding.ASCII.GetString(buffer, 0, total);
    }

    /// <summary>Reads until end of stream (or a reset, reported as the text so far).</summary>
    public static async Task<string> ReadToEndAsync(this Stream stream)
    {
        var buffer = new byte[4096];
        var text = new System.Text.StringBuilder();
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                if (read == 0) break;
                text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (IOException)
        {
        }

        return text.ToString();
    }
}
