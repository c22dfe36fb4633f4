using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mesh.Sidecar.Tls;

/// <summary>
/// Verifies a peer certificate against the mesh's trust bundle only (never the machine's store): both sides of mTLS
/// use it, so inbound and outbound accept exactly the same chains.
/// </summary>
internal static class TrustVerifier
{
    /// <summary>
    /// Builds the chain of <paramref name="certificate"/> to one of <paramref name="roots"/>, using
    /// <paramref name="intermediates"/> (what the peer sent) to fill gaps. Revocation is not checked (the mesh has no
    /// CRLs; short-lived leaves rotate instead); validity periods are.
    /// </summary>
    /// <returns>Null when the chain is good, else a short reason.</returns>
    public static string? Verify(X509Certificate2 certificate, X509Certificate2Collection roots, X509Certificate2Collection? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(roots);
        if (roots.Count == 0) return "no trusted roots";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (intermediates is { Count: > 0 }) chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        if (chain.Build(certificate)) return null;
        var reason = new StringBuilder();
        foreach (var status in chain.ChainStatus)
        {
            if (reason.Length > 0) reason.Append("; ");
            var text = status.StatusInformation.Trim();
            reason.Append(text.Length > 0 ? text : status.Status.ToString());
        }

        return reason.Length > 0 ? reason.ToString() : "certificate chain not trusted";
    }
}
