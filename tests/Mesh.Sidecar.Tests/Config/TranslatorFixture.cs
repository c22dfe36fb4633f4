using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Sidecar.Config;
using Mesh.Xds.Cache;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using Mesh.Xds.Tests.Resources;

namespace Mesh.Sidecar.Tests.Config;

/// <summary>
/// Runs Mesh's real resource builders on a snapshot and feeds their output to <see cref="XdsTranslator"/>, the way the
/// xDS client will: one type at a time, in the order the server sends them.
/// </summary>
internal static class TranslatorFixture
{
    /// <summary>A CA and a leaf for web, shared by the tests (making keys is the slow part).</summary>
    public static readonly TestPki Pki = TestPki.Create($"spiffe://{SnapshotFixtures.TrustDomain}/ns/default/dc/dc1/svc/web");

    /// <summary>
    /// Every resource the control plane builds for <paramref name="snapshot"/>. A snapshot with TLS material gets
    /// <see cref="Pki"/>'s real certificates instead of the builder tests' placeholders, which no TLS stack can read.
    /// </summary>
    public static ResourceSnapshot Build(ConfigSnapshot snapshot)
    {
        if (snapshot.Leaf is not null)
        {
            snapshot = snapshot with
            {
                Leaf = new LeafCertificate(Pki.LeafPem, Pki.LeafKeyPem, "01"),
                Roots = [new RootCertificate("root-1", Pki.RootPem, true)],
            };
        }
        return new SnapshotTranslator(new AssignmentCache()).Translate(snapshot).Resources;
    }

    /// <summary>The resources of one type, as the <c>Any</c>s of a discovery response.</summary>
    public static List<Any> Of(ResourceSnapshot resources, string typeUrl) => [.. resources[typeUrl].All.Select(r => r.Body)];

    /// <summary>The snapshot translated type by type (secrets, clusters, endpoints, listeners, routes).</summary>
    public static SidecarState Translate(ConfigSnapshot snapshot)
    {
        var resources = Build(snapshot);
        var translator = new XdsTranslator();
        var state = SidecarState.Empty;
        foreach (var type in TypeUrls.Ordered) state = translator.Apply(state, type, Of(resources, type));
        return state;
    }

    /// <summary>One resource of a type, decoded, for a test to change before translating it.</summary>
    public static T Decode<T>(ResourceSnapshot resources, string typeUrl, string name) where T : IMessage<T>, new() =>
        resources[typeUrl].ByName[name].Body.Unpack<T>();

    /// <summary>Translates <paramref name="messages"/> as one response and returns the error message it gives.</summary>
    public static string Error(string typeUrl, params IMessage[] messages) =>
        Assert.Throws<XdsConfigException>(() => new XdsTranslator().Apply(SidecarState.Empty, typeUrl, [.. messages.Select(Any.Pack)])).Message;
}

/// <summary>A test CA: a root and a leaf for one SPIFFE ID, as PEM, made with <see cref="CertificateRequest"/>.</summary>
internal sealed record TestPki(string RootPem, string LeafPem, string LeafKeyPem)
{
    public static TestPki Create(string spiffeId, string rootName = "Test Root")
    {
        var now = DateTimeOffset.UtcNow;
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest($"CN={rootName}", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        rootRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(rootRequest.PublicKey, false));
        using var root = rootRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=leaf", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(spiffeId));
        leafRequest.CertificateExtensions.Add(san.Build(critical: false));
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var leaf = leafRequest.Create(root, now.AddMinutes(-5), now.AddHours(12), RandomNumberGenerator.GetBytes(16));
        return new TestPki(root.ExportCertificatePem() + "\n", leaf.ExportCertificatePem() + "\n", leafKey.ExportECPrivateKeyPem());
    }
}
