using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Mesh.Xds.Grpc;

/// <summary>Puts a <see cref="GrpcServer"/> on Kestrel: HTTP/2 limits, gRPC listen endpoints, and the request pipeline.</summary>
public static class GrpcHostingExtensions
{
    /// <summary>
    /// Applies the HTTP/2 limits of <paramref name="options"/> to the server: concurrent streams per connection,
    /// flow-control windows, keepalive pings. Kestrel holds these server-wide; they matter only on HTTP/2 endpoints,
    /// so an HTTP/1.1 API port on the same server is unaffected.
    /// </summary>
    public static KestrelServerOptions ConfigureGrpc(this KestrelServerOptions kestrel, GrpcServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var http2 = kestrel.Limits.Http2;
        http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
        http2.InitialConnectionWindowSize = options.InitialConnectionWindowSize;
        http2.InitialStreamWindowSize = options.InitialStreamWindowSize;
        http2.KeepAlivePingDelay = options.KeepAlivePingDelay ?? TimeSpan.MaxValue;
        http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
        return kestrel;
    }

    /// <summary>
    /// Makes a Kestrel endpoint a gRPC endpoint: HTTP/2 only — h2c with prior knowledge in plaintext, or TLS with
    /// ALPN <c>h2</c> when <paramref name="certificate"/> is given — and marks its connections so that
    /// <see cref="UseGrpc(IApplicationBuilder, GrpcServer)"/> answers every request on it as gRPC.
    /// </summary>
    public static ListenOptions UseGrpc(this ListenOptions listen, X509Certificate2? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Protocols = HttpProtocols.Http2;
        if (certificate is not null)
        {
            listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate });
        }

        listen.Use(next => connection =>
        {
            connection.Features.Set(GrpcEndpointFeature.Instance);
            return next(connection);
        });
        return listen;
    }

    /// <summary>
    /// Adds the gRPC server to the pipeline. It answers every request on an endpoint made with
    /// <see cref="UseGrpc(ListenOptions, X509Certificate2?)"/> (so a browser or a wrong client gets gRPC's answer,
    /// 415 or UNIMPLEMENTED), and elsewhere any request with a gRPC content type; other requests go on to the next
    /// middleware.
    /// </summary>
    public static IApplicationBuilder UseGrpc(this IApplicationBuilder app, GrpcServer server)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(server);
        return app.Use(next => context =>
            IsGrpcEndpoint(context) || GrpcProtocol.IsGrpcContentType(context.Request.ContentType)
                ? server.HandleAsync(context)
                : next(context));
    }

    /// <summary>
    /// Maps each registered method path as an endpoint (any HTTP method; the server itself answers a wrong one),
    /// for hosts that use endpoint routing. Unknown paths are left to the rest of the routing table.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpc(this IEndpointRouteBuilder endpoints, GrpcServer server)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(server);
        var builders = server.Paths.Select(path => endpoints.Map(path, server.HandleAsync)).ToList();
        return new CompositeConventionBuilder(builders);
    }

    /// <summary>Whether the request came in on an endpoint made with <see cref="UseGrpc(ListenOptions, X509Certificate2?)"/>.</summary>
    public static bool IsGrpcEndpoint(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<GrpcEndpointFeature>() is not null;
    }

    /// <summary>The mark a gRPC endpoint puts on its connections; Kestrel exposes connection features on each request.</summary>
    private sealed class GrpcEndpointFeature
    {
        public static readonly GrpcEndpointFeature Instance = new();
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders)
            {
                builder.Finally(finallyConvention);
            }
        }
    }
}
