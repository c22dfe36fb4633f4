using Mesh.Xds.ProxyCfg;

namespace Mesh.Agent.Connect;

/// <summary>Hands proxycfg the agent's leaf certificates: the same leaves, renewals and blocking waits the HTTP API serves.</summary>
internal sealed class LeafSource(LeafCertificates leaves) : ILeafSource
{
    /// <inheritdoc/>
    public async Task<(LeafCertificate Leaf, ulong Index)> GetAsync(string service, ulong minIndex, TimeSpan wait, CancellationToken cancellationToken)
    {
        var issued = await leaves.GetAsync(service, minIndex, wait, cancellationToken).ConfigureAwait(false);
        return (new LeafCertificate(issued.CertPem, issued.PrivateKeyPem, issued.SerialNumber), issued.Index);
    }
}
