using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Certificates;
using Mesh.Ca.Identity;
using Mesh.Ca.Keys;
using Mesh.Ca.Providers;

namespace Mesh.Agent.Tests.Ca;

/// <summary>Certificates made by the built-in CA, judged by openssl.</summary>
public sealed class CertificateFactoryTests : IDisposable
{
    private const string ClusterId = "11111111-2222-3333-4444-555555555555";
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-ca-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static BuiltinCaProvider Provider(CaKeySpec? spec = null, IReadOnlyDictionary<string, string>? state = null)
    {
        var p = new BuiltinCaProvider();
        p.Configure(new CaProviderSettings(ClusterId, "dc1", true, spec ?? CaKeySpec.Default, TimeSpan.FromDays(3650), TimeSpan.FromDays(365),
            state ?? new Dictionary<string, string>()));
        return p;
    }

    internal static (string CsrPem, string KeyPem) Csr(string uri, string[]? dns = null, ECCurve? curve = null)
    {
        using var key = ECDsa.Create(curve ?? ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=ignored", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(uri));
        foreach (var d in dns ?? []) san.AddDnsName(d);
        req.CertificateExtensions.Add(san.Build());
        return (req.CreateSigningRequestPem(), key.ExportECPrivateKeyPem());
    }

    private string Write(string name, string text)
    {
        File.WriteAllText(Path.Combine(_dir, name), text);
        return name;
    }

    [Theory]
    [InlineData("ec", 256)]
    [InlineData("ec", 384)]
    [InlineData("rsa", 2048)]
    public async Task Leaf_VerifiesAgainstRoot_CarriesSpiffeUriAndUsages(string type, int bits)
    {
        using var ca = Provider(new CaKeySpec(type, bits));
        var now = DateTimeOffset.UtcNow;
        var root = ca.GenerateRoot(now);
        var id = SpiffeId.Service(SpiffeId.TrustDomainOf(ClusterId), "dc1", "web");
        var (csr, _) = Csr(id.ToString(), ["web.example"]);
        var leaf = ca.SignLeaf(CsrInfo.Parse(csr), id, TimeSpan.FromHours(72), now).Pem;
        Write("root.pem", root);
        Write("leaf.pem", leaf);
        Assert.Contains("leaf.pem: OK", await Openssl.OkAsync(_dir, "verify", "-CAfile", "root.pem", "leaf.pem"));
        var text = await Openssl.OkAsync(_dir, "x509", "-in", "leaf.pem", "-noout", "-text");
        Assert.Contains($"URI:spiffe://{ClusterId}.consul/ns/default/dc/dc1/svc/web", text);
        Assert.Contains("DNS:web.example", text);
        Assert.Contains("Digital Signature, Key Encipherment, Key Agreement", text);
        Assert.Contains("TLS Web Server Authentication, TLS Web Client Authentication", text);
        Assert.Contains("X509v3 Authority Key Identifier", text);
        Assert.Contains("X509v3 Subject Key Identifier", text);
        Assert.Contains("CA:FALSE", text);
        var rootText = await Openssl.OkAsync(_dir, "x509", "-in", "root.pem", "-noout", "-text");
        Assert.Contains("CA:TRUE", rootText);
        // Exactly the trust domain, no trailing slash: SPIFFE IDs compare as strings.
        Assert.Contains($"URI:spiffe://{ClusterId}.consul\n", rootText);
    }

    [Fact]
    public void Root_SurvivesAProviderRestartFromItsState()
    {
        string root;
        IReadOnlyDictionary<string, string> state;
        using (var first = Provider())
        {
            root = first.GenerateRoot(DateTimeOffset.UtcNow);
            state = first.State;
        }
        using var second = Provider(state: state);
        Assert.Equal(root, second.GenerateRoot(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task CrossSigned_NewRootLeaf_VerifiesThroughOldRoot()
    {
        using var oldCa = Provider();
        using var newCa = Provider(new CaKeySpec("ec", 384));
        var now = DateTimeOffset.UtcNow;
        Write("old.pem", oldCa.GenerateRoot(now));
        var newRoot = X509Certificate2.CreateFromPem(newCa.GenerateRoot(now));
        Write("cross.pem", oldCa.CrossSignCa(newRoot, now));
        var id = SpiffeId.Service(SpiffeId.TrustDomainOf(ClusterId), "dc1", "db");
        Write("leaf.pem", newCa.SignLeaf(CsrInfo.Parse(Csr(id.ToString()).CsrPem), id, TimeSpan.FromHours(1), now).Pem);
        // Only the old root is trusted: the chain leaf -> (new root's key, signed by the old one) -> old root.
        Assert.Contains("leaf.pem: OK", await Openssl.OkAsync(_dir, "verify", "-CAfile", "old.pem", "-untrusted", "cross.pem", "leaf.pem"));
        var alone = await Openssl.RunAsync(_dir, "verify", "-CAfile", "old.pem", "leaf.pem");
        Assert.NotEqual(0, alone.ExitCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----")]
    [InlineData("not pem at all")]
    public void Csr_Malformed_Refused(string pem) => Assert.Throws<CsrException>(() => CsrInfo.Parse(pem));

    [Fact]
    public void Csr_TamperedSignature_AcceptedOnlyWithoutTheCheck()
    {
        var (pem, _) = Csr("spiffe://x.consul/ns/default/dc/dc1/svc/web");
        var der = PemEncoding.Find(pem) is var f ? Convert.FromBase64String(pem[f.Base64Data]) : [];
        der[^3] ^= 0x55;
        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);
        Assert.Throws<CsrException>(() => CsrInfo.Parse(tampered));
        Assert.Equal(["spiffe://x.consul/ns/default/dc/dc1/svc/web"], CsrInfo.Parse(tampered, verifySignature: false).Uris);
    }

    [Theory]
    [InlineData("ec")]
    [InlineData("rsa")]
    public void Csr_FromOpensslItself_ReadAndVerified(string kind)
    {
        // A CSR made by another implementation than .NET's: openssl req, with the SAN in an extension request.
        var key = Path.Combine(_dir, "k.pem");
        var csrPath = Path.Combine(_dir, "r.csr");
        string[] keyArgs = kind == "ec" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] : ["-newkey", "rsa:2048"];
        var run = Openssl.RunAsync(_dir, ["req", "-new", .. keyArgs, "-nodes", "-keyout", key, "-out", csrPath, "-subj", "/CN=api",
            "-addext", "subjectAltName=URI:spiffe://x.consul/ns/default/dc/dc1/svc/api,DNS:api.internal"]).GetAwaiter().GetResult();
        Assert.True(run.ExitCode == 0, run.Output);
        var csr = CsrInfo.Parse(File.ReadAllText(csrPath));
        Assert.Equal(["spiffe://x.consul/ns/default/dc/dc1/svc/api"], csr.Uris);
        Assert.Equal(["api.internal"], csr.DnsNames);
    }

    [Fact]
    public void Csr_Oversize_Refused() =>
        Assert.Contains("larger", Assert.Throws<CsrException>(() => CsrInfo.Parse(new string('A', CsrInfo.MaxPemLength + 1))).Message);

    [Fact]
    public void Csr_NamesRead()
    {
        var csr = CsrInfo.Parse(Csr("spiffe://x.consul/ns/default/dc/dc1/svc/web", ["a.example", "b.example"]).CsrPem);
        Assert.Equal(["spiffe://x.consul/ns/default/dc/dc1/svc/web"], csr.Uris);
        Assert.Equal(["a.example", "b.example"], csr.DnsNames);
    }

    [Theory]
    [InlineData("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web", SpiffeKind.Service, "dc1", "web")]
    [InlineData("spiffe://td.consul/agent/client/dc/dc2/id/abc-123", SpiffeKind.Agent, "dc2", "abc-123")]
    [InlineData("spiffe://td.consul", SpiffeKind.Authority, "", "")]
    public void SpiffeId_RoundTrips(string text, SpiffeKind kind, string dc, string name)
    {
        Assert.True(SpiffeId.TryParse(text, out var id));
        Assert.Equal((kind, dc, name), (id.Kind, id.Datacenter, id.Name));
        Assert.Equal(text, id.ToString());
    }

    [Theory]
    [InlineData("https://td.consul/ns/default/dc/dc1/svc/web")]
    [InlineData("spiffe://td.consul/ns/default/dc/dc1/svc")]
    [InlineData("spiffe://td.consul/ns//dc/dc1/svc/web")]
    [InlineData("spiffe:///ns/default/dc/dc1/svc/web")]
    public void SpiffeId_OtherShapes_Refused(string text) => Assert.False(SpiffeId.TryParse(text, out _));

    [Theory]
    [InlineData("ec", 128)]
    [InlineData("rsa", 1024)]
    [InlineData("dsa", 2048)]
    public void KeySpec_Unusable_Explained(string type, int bits) => Assert.NotNull(CaKeySpec.Problem(type, bits));

    [Fact]
    public void Leaf_NeverOutlivesItsIssuer()
    {
        using var ca = new BuiltinCaProvider();
        ca.Configure(new CaProviderSettings(ClusterId, "dc1", true, CaKeySpec.Default, TimeSpan.FromHours(2), TimeSpan.FromHours(1), new Dictionary<string, string>()));
        var now = DateTimeOffset.UtcNow;
        var root = X509Certificate2.CreateFromPem(ca.GenerateRoot(now));
        var id = SpiffeId.Service("x.consul", "dc1", "web");
        var leaf = X509Certificate2.CreateFromPem(ca.SignLeaf(CsrInfo.Parse(Csr(id.ToString()).CsrPem), id, TimeSpan.FromDays(30), now).Pem);
        Assert.True(leaf.NotAfter <= root.NotAfter);
    }
}
