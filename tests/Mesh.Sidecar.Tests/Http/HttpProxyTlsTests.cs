using System.Collections.Frozen;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Mesh.Sidecar.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Http;

/// <summary>An inbound (public) listener with mTLS in Kestrel: RBAC on the client certificate, x-forwarded-client-cert.</summary>
public sealed class HttpProxyTlsTests
{
    private const string WebId = "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web";
    private const string ApiId = "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/api";

    [Fact]
    public async Task HandleAsync_AllowedPeer_ForwardedWithClientCertDetails()
    {
        using var serverLeaf = Leaf(ApiId);
        using var clientLeaf = Leaf(WebId);
        await using var host = await InboundAsync(serverLeaf, Allow(WebId));
        using var client = host.Client(clientLeaf);

        var xfcc = await client.GetStringAsync("/");

        var hash = Convert.ToHexStringLower(SHA256.HashData(clientLeaf.RawData));
        Assert.Equal($"By={ApiId};Hash={hash};URI={WebId}", xfcc.Split('|')[0]);
        Assert.Equal("https", xfcc.Split('|')[1]);
    }

    [Fact]
    public async Task HandleAsync_PeerNotInIntentions_403()
    {
        using var serverLeaf = Leaf(ApiId);
        using var clientLeaf = Leaf(ApiId);
        await using var host = await InboundAsync(serverLeaf, Allow(WebId));
        using var client = host.Client(clientLeaf);

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.StartsWith("RBAC: access denied", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public void ForwardedClientCert_PeerWithoutUri_HashOnly()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var plain = new CertificateRequest("CN=plain", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        Assert.Equal("Hash=" + Convert.ToHexStringLower(SHA256.HashData(plain.RawData)), CertificateDetails.ForwardedClientCert(null, plain));
        Assert.Equal("CN=plain", CertificateDetails.Of(plain).Principal);
    }

    private static RbacConfig Allow(string principal) => new(RbacAction.Allow,
        [new RbacPolicy("consul-intentions-layer4", [new PermissionRule.Any()], [new PrincipalRule.Authenticated(new StringMatch(StringMatchKind.Exact, principal))])], "rbac");

    private static X509Certificate2 Leaf(string spiffeId)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=leaf", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        // A PKCS#12 round trip gives a key every TLS backend accepts.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private static async Task<InboundHost> InboundAsync(X509Certificate2 serverLeaf, RbacConfig rbac)
    {
        var backend = await TestServer.StartAsync(ctx =>
            ctx.Response.WriteAsync($"{ctx.Request.Headers["x-forwarded-client-cert"]}|{ctx.Request.Headers["x-forwarded-proto"]}"));
        var cluster = Build.Cluster("local_app");
        var clusters = new TestClusters();
        clusters.Set(cluster, backend.EndPoint);
        var hcm = new HttpConnectionManagerConfig("public_listener", HttpCodec.Auto, Build.Table(Build.Route(Build.Prefix("/"), Build.To("local_app"))), null, rbac, null, true);
        var listener = new ListenerConfig("public_listener", new IPEndPoint(IPAddress.Loopback, 0), TrafficDirection.Inbound,
            new DownstreamTlsConfig("leaf", "roots", true, [], SslProtocols.Tls12 | SslProtocols.Tls13), null, hcm);
        var state = new StateHolder();
        state.Publish(SidecarState.Empty with
        {
            Listeners = new Dictionary<string, ListenerConfig> { [listener.Name] = listener }.ToFrozenDictionary(),
            Clusters = new Dictionary<string, ClusterConfig> { [cluster.Name] = cluster }.ToFrozenDictionary(),
            Certificates = new Dictionary<string, CertificateSecret> { ["leaf"] = new("leaf", serverLeaf, []) }.ToFrozenDictionary(),
        });
        var proxy = new HttpProxy(state, clusters, new SidecarMetrics(), LoggerFactory.Create(_ => { }));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = serverLeaf,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            // Verification against the trust bundle belongs to the listener layer; the proxy reads the result.
            ClientCertificateValidation = (_, _, _) => true,
        })));
        var app = builder.Build();
        app.Run(ctx => proxy.HandleAsync(ctx, "public_listener"));
        await app.StartAsync();
        return new InboundHost(app, backend, proxy, new Uri(app.Urls.First()).Port);
    }

    private sealed class InboundHost(WebApplication app, TestServer backend, HttpProxy proxy, int port) : IAsyncDisposable
    {
        public HttpClient Client(X509Certificate2 clientCertificate)
        {
            var handler = new SocketsHttpHandler { UseProxy = false };
            handler.SslOptions.ClientCertificates = [clientCertificate];
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}/") };
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
            await backend.DisposeAsync();
            proxy.Dispose();
        }
    }
}
