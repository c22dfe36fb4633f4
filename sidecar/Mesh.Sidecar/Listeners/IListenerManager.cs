using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Listeners;

/// <summary>Keeps the bound sockets in line with the listeners of the current state.</summary>
internal interface IListenerManager : IAsyncDisposable
{
    /// <summary>
    /// Binds listeners that are new, rebinds ones whose address or TLS changed, and drains and closes ones that are
    /// gone. Other changes (routes, RBAC, clusters) need no rebinding: traffic reads the current state.
    /// </summary>
    /// <exception cref="XdsConfigException">A new listener's address cannot be bound (e.g. already in use).</exception>
    Task ApplyAsync(SidecarState state, CancellationToken cancellationToken);

    /// <summary>Stops accepting on every listener and waits up to <paramref name="timeout"/> for open connections and requests to finish.</summary>
    Task DrainAsync(TimeSpan timeout);
}
