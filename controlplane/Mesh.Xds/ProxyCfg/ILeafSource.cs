namespace Mesh.Xds.ProxyCfg;

/// <summary>Where proxycfg gets the leaf certificate of the service a sidecar fronts (the agent's leaf manager).</summary>
public interface ILeafSource
{
    /// <summary>
    /// The current leaf of <paramref name="service"/>, issuing one if needed. With <paramref name="minIndex"/> above 0,
    /// waits up to <paramref name="wait"/> for a leaf with a higher index (a renewal or a root change) first.
    /// </summary>
    /// <returns>The leaf and its index (moves up on every replacement).</returns>
    Task<(LeafCertificate Leaf, ulong Index)> GetAsync(string service, ulong minIndex, TimeSpan wait, CancellationToken cancellationToken);
}
