using Envoy.Config.Core.V3;

namespace Mesh.Xds.Cache;

/// <summary>
/// Where the ADS server gets each proxy's resources. Implemented by proxycfg (or <see cref="SnapshotCache"/>).
/// </summary>
public interface IResourceSource
{
    /// <summary>
    /// Starts or joins the resources for the proxy a stream's <paramref name="node"/> names (<c>node.id</c> is the proxy's
    /// service ID). The subscription is disposed when the stream ends. Unknown node ids are the source's business (it
    /// may serve a proxyless view), so this never returns null.
    /// </summary>
    /// <exception cref="Server.XdsStreamException">The stream must not be served (for example NOT_FOUND).</exception>
    IResourceSubscription Subscribe(Node node);
}

/// <summary>One stream's view of a proxy's snapshots, delivered "latest wins".</summary>
public interface IResourceSubscription : IDisposable
{
    /// <summary>The newest complete snapshot, or null until there is one.</summary>
    ResourceSnapshot? Current { get; }

    /// <summary>
    /// Completes with the newest snapshot that is not <paramref name="seen"/> (compared by reference): at once if there
    /// is one, else when the next one is published. Snapshots published in between are skipped, never queued.
    /// </summary>
    Task<ResourceSnapshot> NextAsync(ResourceSnapshot? seen, CancellationToken cancellationToken);
}
