using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Certificates;
using Mesh.Ca.Identity;
using Mesh.Ca.Keys;
using Mesh.Ca.Providers;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// Certificates for the HAProxy pair, from Mesh's own built-in CA: a root and SPIFFE service leaves with ECDSA P-256
/// keys, the same kind of certificate and key the agent hands Mesh's sidecars, so both pairs do the same handshake
/// and signature work.
/// </summary>
internal sealed class SidecarPki : IDisposable
{
    private const string Datacenter = "dc1";

    private readonly BuiltinCaProvider _ca = new();

    public SidecarPki()
    {
        var clusterId = Guid.NewGuid().ToString();
        _ca.Configure(new CaProviderSettings(clusterId, Datacenter, true, CaKeySpec.Default, TimeSpan.FromDays(30), TimeSpan.FromDays(30),
            new Dictionary<string, string>()));
        RootsPem = _ca.GenerateRoot(DateTimeOffset.UtcNow);
        TrustDomain = SpiffeId.TrustDomainOf(clusterId);
    }

    /// <summary>The trust bundle (the root) in PEM.</summary>
    public string RootsPem { get; }

    /// <summary>The CA's trust domain, <c>&lt;cluster id&gt;.consul</c>.</summary>
    public string TrustDomain { get; }

    /// <summary>The SNI a Mesh sidecar sends to reach <paramref name="service"/>: <c>service.default.dc.internal.trust-domain</c>.</summary>
    public string Sni(string service) => $"{service}.default.{Datacenter}.internal.{TrustDomain}";

    /// <summary>
    /// A leaf for <paramref name="service"/>: certificate, then the chain up to (not including) the root, then the
    /// private key, all in one PEM, which is the form HAProxy's <c>crt</c> takes. With <paramref name="dnsName"/> the
    /// leaf also names it as a DNS SAN.
    /// </summary>
    public string LeafWithKeyPem(string service, string? dnsName = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = SpiffeId.Service(TrustDomain, Datacenter, service);
        var request = new CertificateRequest($"CN={service}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(id.ToUri());
        if (dnsName is not null) san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        var leaf = _ca.SignLeaf(CsrInfo.Parse(request.CreateSigningRequestPem(), verifySignature: false), id, TimeSpan.FromDays(3),
            DateTimeOffset.UtcNow);
        // The built-in primary CA signs with its root, but a configuration with an intermediate must send it along.
        var intermediate = _ca.ActiveIntermediate();
        var chain = Same(intermediate, RootsPem) ? "" : intermediate.TrimEnd() + "\n";
        return leaf.Pem + chain + key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    public void Dispose() => _ca.Dispose();

    private static bool Same(string pemA, string pemB)
    {
        using var a = X509Certificate2.CreateFromPem(pemA);
        using var b = X509Certificate2.CreateFromPem(pemB);
        return a.RawDataMemory.Span.SequenceEqual(b.RawDataMemory.Span);
    }
}
