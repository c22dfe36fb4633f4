using System.Security.Cryptography.X509Certificates;

namespace Mesh.Sidecar.Config;

/// <summary>An SDS <c>tls_certificate</c> secret: a certificate with its private key, and the intermediates to send.</summary>
internal sealed record CertificateSecret(string Name, X509Certificate2 Certificate, X509Certificate2Collection Intermediates);

/// <summary>An SDS <c>validation_context</c> secret: the trusted roots.</summary>
internal sealed record ValidationSecret(string Name, X509Certificate2Collection Roots);
