using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Tests.Tls;

/// <summary>A throwaway mesh CA: a root and SPIFFE leaves signed by it, as the built-in CA issues them.</summary>
internal sealed class TestPki
{
    public const string TrustDomain = "11111111-2222-3333-4444-555555555555.consul";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestPki(string name = "Mesh Test CA")
    {
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    public X509Certificate2 Root { get; }

    public static string SpiffeId(string service) => $"spiffe://{TrustDomain}/ns/default/dc/dc1/svc/{service}";

    /// <summary>A leaf for <paramref name="service"/> with its SPIFFE URI SAN, usable as client and server certificate.</summary>
    public X509Certificate2 Leaf(string service, string? uri = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={service}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(uri ?? SpiffeId(service)));
        san.AddDnsName(service);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Root, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var signed = request.Create(Root, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(2), serial);
        // Round-trip through PKCS#12 so the platform TLS stack gets a certificate with a usable private key.
        using var withKey = signed.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    public CertificateSecret LeafSecret(string service, string name = "leaf", string? uri = null) => new(name, Leaf(service, uri), []);

    public ValidationSecret RootsSecret(string name = "roots") => new(name, [Root]);
}

/// <summary>Builds <see cref="SidecarState"/>s for tests.</summary>
internal static class States
{
    public static SidecarState With(
        IEnumerable<ListenerConfig>? listeners = null,
        IEnumerable<ClusterConfig>? clusters = null,
        IEnumerable<ClusterLoadAssignmentConfig>? endpoints = null,
        IEnumerable<CertificateSecret>? certificates = null,
        IEnumerable<ValidationSecret>? roots = null) => new(
            (listeners ?? []).ToFrozenDictionary(l => l.Name, StringComparer.Ordinal),
            (clusters ?? []).ToFrozenDictionary(c => c.Name, StringComparer.Ordinal),
            (endpoints ?? []).ToFrozenDictionary(e => e.ClusterName, StringComparer.Ordinal),
            FrozenDictionary<string, RouteTableConfig>.Empty,
            (certificates ?? []).ToFrozenDictionary(c => c.Name, StringComparer.Ordinal),
            (roots ?? []).ToFrozenDictionary(r => r.Name, StringComparer.Ordinal));

    public static readonly DownstreamTlsConfig InboundTls = new("leaf", "roots", true, [], SslProtocols.Tls12 | SslProtocols.Tls13);

    public static IPEndPoint AnyPort => new(IPAddress.Loopback, 0);

    public static ListenerConfig TcpListener(string name, string cluster, DownstreamTlsConfig? tls = null, RbacConfig? rbac = null, IPEndPoint? address = null, TimeSpan? idle = null) =>
        new(name, address ?? AnyPort, tls is null ? TrafficDirection.Outbound : TrafficDirection.Inbound, tls, rbac, new TcpProxyConfig(name, cluster, null, idle));

    public static ListenerConfig HttpListener(string name, DownstreamTlsConfig? tls = null, IPEndPoint? address = null) =>
        new(name, address ?? AnyPort, TrafficDirection.Inbound, tls, null, new HttpConnectionManagerConfig(name, HttpCodec.Auto, null, null, null, null, false));

    public static ClusterConfig StaticCluster(string name, params IPEndPoint[] endpoints) =>
        new(name, ClusterKind.Static, TimeSpan.FromSeconds(5), LbPolicy.RoundRobin, 2, null, UpstreamProtocol.Http1, null,
            [.. endpoints.Select(e => new EndpointConfig(e, EndpointHealth.Healthy, 1, 0))], [], null, null);

    public static ClusterConfig EdsCluster(string name, LbPolicy policy = LbPolicy.RoundRobin, UpstreamTlsConfig? tls = null, OutlierDetectionConfig? outlier = null, CircuitBreakerConfig? breakers = null) =>
        new(name, ClusterKind.Eds, TimeSpan.FromSeconds(5), policy, 2, tls, UpstreamProtocol.Http1, null, [], [], breakers, outlier);

    public static ClusterConfig Aggregate(string name, params string[] children) =>
        new(name, ClusterKind.Aggregate, TimeSpan.FromSeconds(5), LbPolicy.RoundRobin, 2, null, UpstreamProtocol.Http1, null, [], [.. children], null, null);

    public static ClusterLoadAssignmentConfig Assignment(string cluster, params EndpointConfig[] endpoints) => new(cluster, [.. endpoints]);

    public static EndpointConfig Endpoint(int port, int weight = 1, EndpointHealth health = EndpointHealth.Healthy, int priority = 0) =>
        new(new IPEndPoint(IPAddress.Loopback, port), health, weight, priority);

    /// <summary>A loopback port nobody listens on (bound, then released).</summary>
    public static IPEndPoint ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }
}
