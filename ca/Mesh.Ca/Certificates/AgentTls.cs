using System.Formats.Asn1;
using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Identity;

namespace Mesh.Ca.Certificates;

/// <summary>What an agent TLS certificate is for; it decides the certificate's names and extended key usages.</summary>
public enum AgentCertKind
{
    /// <summary>A server agent: named <c>server.&lt;dc&gt;.&lt;domain&gt;</c>, for TLS server and client authentication.</summary>
    Server,

    /// <summary>A client agent: named <c>client.&lt;dc&gt;.&lt;domain&gt;</c>, for TLS server and client authentication.</summary>
    Client,

    /// <summary>A command-line client: named <c>cli.&lt;dc&gt;.&lt;domain&gt;</c>, for TLS client authentication only.</summary>
    Cli,
}

/// <summary>The settings of a new agent TLS CA (<c>mesh tls ca create</c>).</summary>
public sealed record AgentCaOptions
{
    /// <summary>Days the CA is valid for, from now.</summary>
    public int Days { get; init; } = 1825;

    /// <summary>The cluster's DNS domain; with <see cref="ClusterId"/> it forms the CA's SPIFFE URI.</summary>
    public string Domain { get; init; } = "consul";

    /// <summary>The subject's common name; null for <c>Mesh Agent CA &lt;serial&gt;</c>.</summary>
    public string? CommonName { get; init; }

    /// <summary>
    /// The only DNS domains (and their subdomains) the CA may sign for, as a critical name-constraints extension; empty
    /// for no constraint.
    /// </summary>
    public IReadOnlyList<string> PermittedDnsDomains { get; init; } = [];

    /// <summary>A cluster ID: when set, the CA carries the URI SAN <c>spiffe://&lt;cluster-id&gt;.&lt;domain&gt;</c>.</summary>
    public string? ClusterId { get; init; }
}

/// <summary>
/// An agent TLS certificate to issue (<c>mesh tls cert create</c>). The names follow Consul's conventions, so agents
/// that check <c>server.&lt;dc&gt;.&lt;domain&gt;</c> (<c>verify_server_hostname</c>) accept a server's certificate.
/// </summary>
/// <param name="Kind">What the certificate is for.</param>
/// <param name="Datacenter">The datacenter, e.g. <c>dc1</c>.</param>
/// <param name="Domain">The cluster's DNS domain, e.g. <c>consul</c>.</param>
public sealed record AgentCertRequest(AgentCertKind Kind, string Datacenter, string Domain)
{
    /// <summary>A server's node name: adds the DNS name <c>&lt;node&gt;.server.&lt;dc&gt;.&lt;domain&gt;</c> (servers only).</summary>
    public string? Node { get; init; }

    /// <summary>DNS names to add to the subject alternative names.</summary>
    public IReadOnlyList<string> AdditionalDnsNames { get; init; } = [];

    /// <summary>IP addresses to add to the subject alternative names.</summary>
    public IReadOnlyList<IPAddress> AdditionalIpAddresses { get; init; } = [];

    /// <summary>Days the certificate is valid for, from now (never past the CA's own expiry).</summary>
    public int Days { get; init; } = 365;

    /// <summary>The subject's common name: <c>server.&lt;dc&gt;.&lt;domain&gt;</c>, <c>client.…</c> or <c>cli.…</c>.</summary>
    public string CommonName => $"{Kind switch { AgentCertKind.Server => "server", AgentCertKind.Client => "client", _ => "cli" }}.{Datacenter}.{Domain}";

    /// <summary>
    /// The DNS SANs, in Consul's order: the additional names, a server's node name, the common name and <c>localhost</c>;
    /// a name given twice appears once.
    /// </summary>
    public IReadOnlyList<string> DnsNames
    {
        get
        {
            var names = AdditionalDnsNames.Select(n => n.Trim()).Where(n => n.Length > 0).ToList();
            if (Kind == AgentCertKind.Server && !string.IsNullOrEmpty(Node)) names.Add($"{Node}.server.{Datacenter}.{Domain}");
            names.Add(CommonName);
            names.Add("localhost");
            return names.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        }
    }

    /// <summary>The IP SANs: the additional addresses, then 127.0.0.1 for agents (a CLI does not serve).</summary>
    public IReadOnlyList<IPAddress> IpAddresses
    {
        get
        {
            var ips = AdditionalIpAddresses.ToList();
            if (Kind != AgentCertKind.Cli) ips.Add(IPAddress.Loopback);
            return ips.Distinct().ToList();
        }
    }
}

/// <summary>A certificate and its private key, both PEM.</summary>
/// <param name="CertificatePem">The certificate.</param>
/// <param name="PrivateKeyPem">The private key (SEC 1 <c>EC PRIVATE KEY</c>).</param>
public sealed record PemPair(string CertificatePem, string PrivateKeyPem);

/// <summary>
/// Certificates for TLS between agents and their clients (RPC, HTTPS, gRPC), made the way <c>consul tls ca create</c>
/// and <c>consul tls cert create</c> make them: EC P-256 keys, a self-signed CA that may be limited to some DNS domains
/// by name constraints, and certificates named for a server, client agent or CLI in a datacenter. This is not the
/// Connect CA: no SPIFFE identities on leaves, and the CA lives in an operator's files, not in the state store.
/// </summary>
public static class AgentTls
{
    private const string NameConstraintsOid = "2.5.29.30";
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>A new self-signed CA and its private key.</summary>
    /// <exception cref="AgentTlsException">The validity is out of range.</exception>
    public static PemPair CreateCa(AgentCaOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(options);
        var notAfter = ValidityEnd(now, options.Days);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serial = CertificateFactory.NewSerial();
        // Consul names a CA after its serial, so CAs made on different days (or machines) stay told apart.
        var name = options.CommonName is { Length: > 0 } cn ? cn
            : $"Mesh Agent CA {new BigInteger(serial, isUnsigned: true, isBigEndian: true)}";
        var request = new CertificateRequest(Subject(name), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        var ski = CertificateFactory.KeyId(request.PublicKey);
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(ski, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        if (options.PermittedDnsDomains.Count > 0)
            request.CertificateExtensions.Add(NameConstraints(options.PermittedDnsDomains.Distinct(StringComparer.OrdinalIgnoreCase)));
        if (options.ClusterId is { Length: > 0 } clusterId)
            request.CertificateExtensions.Add(UriSan(SpiffeId.Authority($"{clusterId}.{options.Domain}").ToString()));
        using var cert = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now - CertificateFactory.Backdate,
            notAfter, serial);
        return new PemPair(CertificateFactory.ToPem(cert), key.ExportECPrivateKeyPem() + "\n");
    }

    /// <summary>
    /// Reads a CA certificate and its private key (EC or RSA, SEC 1, PKCS #1 or PKCS #8 PEM) into a signer, after
    /// checking that the certificate is a CA and that the key is its key.
    /// </summary>
    /// <exception cref="AgentTlsException">Either file holds something else, or they do not belong together.</exception>
    public static CaSigner LoadCa(string certificatePem, string privateKeyPem)
    {
        X509Certificate2 cert;
        try
        {
            cert = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException e)
        {
            throw new AgentTlsException($"failed to parse CA: no PEM-encoded certificate found ({e.Message})");
        }
        AsymmetricAlgorithm? key = null;
        try
        {
            key = Keys.CaKeySpec.FromPem(privateKeyPem);
            if (cert.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
                throw new AgentTlsException($"the CA certificate \"{cert.Subject}\" is not a CA (its basic constraints do not say CA:TRUE)");
            var keySpki = key switch
            {
                ECDsa ec => ec.ExportSubjectPublicKeyInfo(),
                RSA rsa => rsa.ExportSubjectPublicKeyInfo(),
                _ => [],
            };
            if (!keySpki.AsSpan().SequenceEqual(cert.PublicKey.ExportSubjectPublicKeyInfo()))
                throw new AgentTlsException("the CA key does not belong to the CA certificate");
            return new CaSigner(cert, key);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key?.Dispose();
            cert.Dispose();
            throw new AgentTlsException($"failed to parse CA key: {e.Message}");
        }
        catch
        {
            key?.Dispose();
            cert.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Issues a certificate with a new EC P-256 key, signed by <paramref name="ca"/>, and checks it the way a peer
    /// would before handing it out: it must chain to the CA at <paramref name="now"/>, and every DNS name must be
    /// within the CA's name constraints.
    /// </summary>
    /// <exception cref="AgentTlsException">The validity is out of range, or the certificate would not verify.</exception>
    public static PemPair CreateCertificate(CaSigner ca, AgentCertRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(request);
        var notAfter = ValidityEnd(now, request.Days);
        var caNotAfter = new DateTimeOffset(ca.Certificate.NotAfter.ToUniversalTime());
        if (caNotAfter <= now) throw new AgentTlsException($"the CA expired on {caNotAfter:u}");
        if (notAfter > caNotAfter) notAfter = caNotAfter;

        var dnsNames = request.DnsNames;
        var permitted = PermittedDnsDomains(ca.Certificate);
        if (permitted.Count > 0 && dnsNames.FirstOrDefault(n => !permitted.Any(p => Permits(p, n))) is { } outside)
            throw new AgentTlsException(
                $"the CA may not sign for DNS name \"{outside}\": its name constraints permit only {string.Join(", ", permitted)}");

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest(Subject(request.CommonName), key, ca.Hash);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        var usages = new OidCollection();
        foreach (var usage in request.Kind switch
                 {
                     AgentCertKind.Server => [ServerAuth, ClientAuth],
                     AgentCertKind.Client => [ClientAuth, ServerAuth],
                     _ => new[] { ClientAuth },
                 })
        {
            usages.Add(usage);
        }
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames) san.AddDnsName(dns);
        foreach (var ip in request.IpAddresses) san.AddIpAddress(ip);
        req.CertificateExtensions.Add(san.Build(false));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(CertificateFactory.KeyId(req.PublicKey), false));
        req.CertificateExtensions.Add(ca.AuthorityKeyIdentifier);
        using var cert = req.Create(ca.Certificate.SubjectName, ca.Generator, now - CertificateFactory.Backdate, notAfter,
            CertificateFactory.NewSerial());
        Verify(ca.Certificate, cert, now);
        return new PemPair(CertificateFactory.ToPem(cert), key.ExportECPrivateKeyPem() + "\n");
    }

    /// <summary>The DNS domains a CA's name-constraints extension permits; empty when it has none.</summary>
    internal static IReadOnlyList<string> PermittedDnsDomains(X509Certificate2 ca)
    {
        var ext = ca.Extensions[NameConstraintsOid];
        if (ext is null) return [];
        var domains = new List<string>();
        try
        {
            var reader = new AsnReader(ext.RawData, AsnEncodingRules.DER);
            var constraints = reader.ReadSequence();
            if (!constraints.HasData || !constraints.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0))) return [];
            var subtrees = constraints.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
            while (subtrees.HasData)
            {
                var subtree = subtrees.ReadSequence();
                if (subtree.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 2)))
                    domains.Add(subtree.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 2)));
            }
        }
        catch (AsnContentException e)
        {
            throw new AgentTlsException($"the CA's name constraints cannot be read: {e.Message}");
        }
        return domains;
    }

    /// <summary>
    /// Whether a permitted DNS subtree covers <paramref name="name"/> (RFC 5280 §4.2.1.10): the domain itself and its
    /// subdomains, or only its subdomains when the constraint starts with a dot.
    /// </summary>
    internal static bool Permits(string constraint, string name)
    {
        if (constraint.Length == 0) return true;
        if (constraint[0] == '.') return name.EndsWith(constraint, StringComparison.OrdinalIgnoreCase);
        return name.Equals(constraint, StringComparison.OrdinalIgnoreCase)
               || name.EndsWith("." + constraint, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A critical name-constraints extension whose permitted subtrees are the given DNS domains.</summary>
    internal static X509Extension NameConstraints(IEnumerable<string> permittedDnsDomains)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
        {
            foreach (var domain in permittedDnsDomains)
            {
                using (writer.PushSequence())
                    writer.WriteCharacterString(UniversalTagNumber.IA5String, domain, new Asn1Tag(TagClass.ContextSpecific, 2));
            }
        }
        // Critical, as Consul marks it: a verifier that cannot enforce the constraint must reject rather than ignore it.
        return new X509Extension(NameConstraintsOid, writer.Encode(), critical: true);
    }

    private static X509Extension UriSan(string uri) => SanExtension.Create([uri], [], []);

    /// <summary>Builds the chain from <paramref name="cert"/> to <paramref name="ca"/> as the only trust anchor.</summary>
    private static void Verify(X509Certificate2 ca, X509Certificate2 cert, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (!chain.Build(cert))
        {
            var why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            throw new AgentTlsException($"the new certificate does not verify against the CA: {why}");
        }
    }

    private static DateTimeOffset ValidityEnd(DateTimeOffset now, int days)
    {
        if (days < 1) throw new AgentTlsException($"the validity must be at least 1 day, not {days}");
        // X.509 dates end with the year 9999.
        if (days > (DateTimeOffset.MaxValue - now).TotalDays - 1) throw new AgentTlsException($"a validity of {days} days ends after the year 9999");
        return now.AddDays(days);
    }

    private static X500DistinguishedName Subject(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        return builder.Build();
    }
}

/// <summary>An agent TLS CA or certificate that cannot be made; the message says why.</summary>
public sealed class AgentTlsException(string message) : Exception(message);
