using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Xds;
using Mesh.Xds.Cache;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Xds;

/// <summary>The ADS client over TLS, verifying the agent against the given CA only.</summary>
public sealed class AdsClientTlsTests
{
    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12 so the server can use the key on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private static AdsClient Client(Uri address, X509Certificate2 trusted, StateHolder state, SidecarMetrics metrics) =>
        new(new AdsClientOptions(address, "web-sidecar-proxy", "web-sidecar-proxy")
        {
            CaCertificates = [trusted],
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
        }, new FakeTranslator(), state, metrics, NullLogger<AdsClient>.Instance);

    [Fact]
    public async Task RunAsync_ServerCertificateFromTheCa_StreamsOverTls()
    {
        using var certificate = SelfSigned("agent");
        await using var server = await ScriptedAdsServer.StartAsync(certificate);
        var address = new UriBuilder(server.Address) { Scheme = "https" }.Uri;
        using var client = Client(address, certificate, new StateHolder(), new SidecarMetrics());
        using var stop = new CancellationTokenSource();
        var loop = client.RunAsync(stop.Token);

        var first = await server.ReceiveAsync();

        Assert.Equal(TypeUrls.Cluster, first.TypeUrl);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task RunAsync_ServerCertificateFromAnotherCa_NeverStreamsAndKeepsRetrying()
    {
        using var certificate = SelfSigned("agent");
        using var other = SelfSigned("someone-else");
        await using var server = await ScriptedAdsServer.StartAsync(certificate);
        var address = new UriBuilder(server.Address) { Scheme = "https" }.Uri;
        var metrics = new SidecarMetrics();
        using var client = Client(address, other, new StateHolder(), metrics);
        using var stop = new CancellationTokenSource();
        var loop = client.RunAsync(stop.Token);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (client.StreamsOpened < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "the client stopped retrying");
            await Task.Delay(10);
        }

        Assert.Empty(server.Streams);
        Assert.Equal(0, metrics.XdsConnected.With().Value);
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
