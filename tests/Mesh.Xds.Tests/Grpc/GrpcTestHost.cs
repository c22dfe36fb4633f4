using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Xds.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Tests.Grpc;

/// <summary>
/// A Kestrel host on loopback port 0 the way the agent wires it: a gRPC endpoint (h2c, or TLS when a certificate is
/// given) and an HTTP/1.1 endpoint whose non-gRPC requests reach the next middleware ("api").
/// </summary>
internal sealed class GrpcTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcTestHost(WebApplication app, GrpcServer server, RecordingLogger<GrpcServer> logger, Uri grpcAddress, Uri apiAddress)
    {
        _app = app;
        Server = server;
        Logger = logger;
        GrpcAddress = grpcAddress;
        ApiAddress = apiAddress;
    }

    public GrpcServer Server { get; }

    public RecordingLogger<GrpcServer> Logger { get; }

    /// <summary>The gRPC endpoint, <c>http://127.0.0.1:port/</c> (or https).</summary>
    public Uri GrpcAddress { get; }

    /// <summary>The HTTP/1.1 endpoint.</summary>
    public Uri ApiAddress { get; }

    /// <param name="router">The methods.</param>
    /// <param name="options">Server options; defaults when null.</param>
    /// <param name="certificate">Makes the gRPC endpoint TLS.</param>
    /// <param name="endpointRouting">Map the methods with MapGrpc instead of the UseGrpc middleware.</param>
    public static async Task<GrpcTestHost> StartAsync(GrpcRouter router, GrpcServerOptions? options = null,
        X509Certificate2? certificate = null, bool endpointRouting = false)
    {
        options ??= new GrpcServerOptions();
        var logger = new RecordingLogger<GrpcServer>();
        var server = new GrpcServer(router, options, logger);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.ConfigureGrpc(options);
            k.Listen(IPAddress.Loopback, 0, l => l.UseGrpc(certificate));
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
        });
        var app = builder.Build();
        if (endpointRouting)
        {
            app.MapGrpc(server);
            app.MapGet("/", () => "api");
        }
        else
        {
            app.UseGrpc(server);
            app.Run(context => context.Response.WriteAsync("api"));
        }

        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        // Kestrel reports endpoints in the order they were configured.
        return new GrpcTestHost(app, server, logger, addresses[0], addresses[1]);
    }

    /// <summary>A self-signed P-256 certificate for localhost and 127.0.0.1, valid for an hour.</summary>
    public static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Kestrel needs the key in a form SslStream can use on Linux: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keeps what was logged, so a test can assert on it.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, string Message, Exception? Exception)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message, Exception? Exception)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, formatter(state, exception), exception));
        }
    }
}
