using System.Net;
using System.Security.Cryptography.X509Certificates;
using Mesh.Agent.Config;
using Mesh.Xds.Grpc;
using Mesh.Xds.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Hosting;

/// <summary>
/// The agent's gRPC port (and gRPC TLS port): its own Kestrel server, HTTP/2 only, carrying the xDS service. Kept apart
/// from the HTTP API's server so that its HTTP/2 limits (thousands of streams per connection, large windows, keepalive
/// pings) and its lifetime (started once Connect is up, stopped first) are its own.
/// </summary>
internal sealed class GrpcHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcHost(WebApplication app, XdsService xds, IReadOnlyList<Uri> addresses)
    {
        _app = app;
        Xds = xds;
        Addresses = addresses;
    }

    /// <summary>The xDS service.</summary>
    public XdsService Xds { get; }

    /// <summary>Where gRPC listens: <c>http://</c> for plaintext h2c, <c>https://</c> for TLS, with the real ports.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>Starts listening on <paramref name="addresses"/> (plaintext on <c>ports.grpc</c>, TLS on <c>ports.grpc_tls</c>).</summary>
    /// <exception cref="ConfigException">A port cannot be bound, or the TLS certificate cannot be loaded.</exception>
    public static async Task<GrpcHost> StartAsync(AgentConfig config, IReadOnlyList<IPAddress> addresses, XdsService xds,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        X509Certificate2? certificate = null;
        if (config.Ports.GrpcTls >= 0)
        {
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(config.GrpcTls.CertFile, config.GrpcTls.KeyFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new ConfigException($"cannot load the gRPC TLS certificate ({config.GrpcTls.CertFile}, {config.GrpcTls.KeyFile}): {ex.Message}");
            }
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "mesh-grpc" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.UseSockets(o => o.Backlog = 4096);
        var endpoints = new List<(ListenOptions Listen, bool Tls)>();
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = null;
            k.ConfigureGrpc(xds.Grpc.Options);
            foreach (var address in addresses)
            {
                if (config.Ports.Grpc >= 0)
                    k.Listen(address, config.Ports.Grpc, o => endpoints.Add((o.UseGrpc(), false)));
                if (certificate is not null)
                    k.Listen(address, config.Ports.GrpcTls, o => endpoints.Add((o.UseGrpc(certificate), true)));
            }
        });
        var app = builder.Build();
        app.UseGrpc(xds.Grpc);
        // Unreachable in practice: every request on a gRPC endpoint is answered by the gRPC server above.
        app.Run(static context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ConfigException($"cannot listen for gRPC on port {config.Ports.Grpc}/{config.Ports.GrpcTls}: {ex.Message}");
        }
        // Kestrel writes the bound port back into each endpoint, which is how a port 0 becomes known.
        var bound = endpoints.Select(e => new Uri($"{(e.Tls ? "https" : "http")}://{Host(e.Listen.IPEndPoint!)}/")).ToList();
        return new GrpcHost(app, xds, bound);
    }

    private static string Host(IPEndPoint endpoint)
    {
        var ip = endpoint.Address;
        if (ip.Equals(IPAddress.Any)) ip = IPAddress.Loopback;
        if (ip.Equals(IPAddress.IPv6Any)) ip = IPAddress.IPv6Loopback;
        return new IPEndPoint(ip, endpoint.Port).ToString();
    }

    /// <summary>Ends every stream (proxies reconnect elsewhere or later) and stops listening.</summary>
    public async ValueTask DisposeAsync()
    {
        await Xds.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
