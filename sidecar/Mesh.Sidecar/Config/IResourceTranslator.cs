using Google.Protobuf.WellKnownTypes;

namespace Mesh.Sidecar.Config;

/// <summary>Turns one xDS response into the proxy's next state.</summary>
internal interface IResourceTranslator
{
    /// <summary>
    /// Returns <paramref name="current"/> with every resource of <paramref name="typeUrl"/> replaced by
    /// <paramref name="resources"/> (state-of-the-world: the response is the whole set of that type the proxy asked
    /// for). Validates everything before returning; on any error nothing changes.
    /// </summary>
    /// <exception cref="XdsConfigException">A resource cannot be applied; the message says which and why.</exception>
    SidecarState Apply(SidecarState current, string typeUrl, IReadOnlyList<Any> resources);
}
