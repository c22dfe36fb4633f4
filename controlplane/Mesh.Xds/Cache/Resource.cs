using System.Security.Cryptography;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Mesh.Xds.Cache;

/// <summary>
/// One xDS resource, serialised once: its name, type URL, the packed message and a version that is a hash of its
/// bytes. Immutable; the same <see cref="Body"/> (and delta wrapper) is put into every response of every stream that
/// carries the resource, so a snapshot shared by many streams is encoded exactly once.
/// </summary>
public sealed class Resource
{
    private const string TypePrefix = "type.googleapis.com/";

    private Resource(string name, string typeUrl, Any body, string version, string? endpointsName)
    {
        Name = name;
        TypeUrl = typeUrl;
        Body = body;
        Version = version;
        EndpointsName = endpointsName;
        Delta = new DeltaResource { Name = name, Version = version, Resource_ = body };
    }

    /// <summary>The resource's name (a cluster's, listener's, route configuration's or secret's name; an assignment's cluster name).</summary>
    public string Name { get; }

    /// <summary>One of <see cref="TypeUrls"/>.</summary>
    public string TypeUrl { get; }

    /// <summary>The message, packed. Shared: never mutate it.</summary>
    public Any Body { get; }

    /// <summary>The hex of the first 8 bytes of the SHA-256 of <see cref="Body"/>'s bytes: equal content, equal version.</summary>
    public string Version { get; }

    /// <summary>
    /// For an EDS cluster, the name of the <c>ClusterLoadAssignment</c> it takes its endpoints from (the EDS service
    /// name, else the cluster's name); null for every other resource. Envoy finishes warming an updated cluster only when
    /// it receives that assignment again, so the server resends it after such a cluster.
    /// </summary>
    public string? EndpointsName { get; }

    /// <summary>The incremental protocol's <c>Resource{name, version, resource}</c> for this resource, built once and shared.</summary>
    internal DeltaResource Delta { get; }

    /// <summary>Serialises <paramref name="message"/> and takes its name from the message itself.</summary>
    /// <exception cref="ArgumentException">The message is not one of the five served types, or its name is empty.</exception>
    public static Resource Create(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var typeUrl = TypePrefix + message.Descriptor.FullName;
        if (TypeUrls.IndexOf(typeUrl) < 0)
            throw new ArgumentException($"'{message.Descriptor.FullName}' is not an xDS resource type Mesh serves (Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret)", nameof(message));
        var name = NameOf(message);
        if (name.Length == 0)
            throw new ArgumentException($"a {TypeUrls.ShortName(typeUrl)} resource ({message.Descriptor.Name}) has no name", nameof(message));
        var body = Any.Pack(message);
        return new Resource(name, typeUrl, body, Hash(body.Value.Span), EndpointsNameOf(message));
    }

    private static string? EndpointsNameOf(IMessage message) =>
        message is Cluster { Type: Cluster.Types.DiscoveryType.Eds } cluster
            ? string.IsNullOrEmpty(cluster.EdsClusterConfig?.ServiceName) ? cluster.Name : cluster.EdsClusterConfig.ServiceName
            : null;

    /// <summary>The name Envoy identifies the resource by.</summary>
    private static string NameOf(IMessage message) => message switch
    {
        Cluster c => c.Name,
        ClusterLoadAssignment a => a.ClusterName,
        Listener l => l.Name,
        RouteConfiguration r => r.Name,
        Secret s => s.Name,
        _ => throw new ArgumentException($"'{message.Descriptor.FullName}' has no known name field", nameof(message)),
    };

    /// <summary>Hex of the first 8 bytes of SHA-256: 64 bits is ample to tell versions of one resource apart.</summary>
    internal static string Hash(ReadOnlySpan<byte> bytes)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, digest);
        return Convert.ToHexStringLower(digest[..8]);
    }
}
