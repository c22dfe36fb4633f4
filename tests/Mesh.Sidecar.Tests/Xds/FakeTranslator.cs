using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Sidecar.Config;
using Mesh.Xds.Cache;

namespace Mesh.Sidecar.Tests.Xds;

/// <summary>
/// A small stand-in for the real translator: it reads just enough of each resource (EDS service names, RDS names,
/// SDS names, secrets' PEM) for the state to ask for the right names, records every call, and rejects what
/// <see cref="Reject"/> says to.
/// </summary>
internal sealed class FakeTranslator : IResourceTranslator
{
    /// <summary>Each call: the type and the names of the resources it carried.</summary>
    public ConcurrentQueue<(string Type, string[] Names)> Calls { get; } = new();

    /// <summary>Returns an error message for a response to reject, or null to accept it.</summary>
    public Func<string, string[], string?> Reject { get; set; } = (_, _) => null;

    public SidecarState Apply(SidecarState current, string typeUrl, IReadOnlyList<Any> resources)
    {
        var names = resources.Select(NameOf).ToArray();
        Calls.Enqueue((typeUrl, names));
        if (Reject(typeUrl, names) is { } error) throw new XdsConfigException(error);
        return typeUrl switch
        {
            TypeUrls.Cluster => current with { Clusters = resources.Select(r => Cluster(r.Unpack<Cluster>())).ToFrozenDictionary(c => c.Name, StringComparer.Ordinal) },
            TypeUrls.Listener => current with { Listeners = resources.Select(r => Listener(r.Unpack<Listener>())).ToFrozenDictionary(l => l.Name, StringComparer.Ordinal) },
            TypeUrls.Endpoint => current with
            {
                Endpoints = resources.Select(r => new ClusterLoadAssignmentConfig(r.Unpack<ClusterLoadAssignment>().ClusterName, []))
                    .ToFrozenDictionary(e => e.ClusterName, StringComparer.Ordinal),
            },
            TypeUrls.Route => current with
            {
                Routes = resources.Select(r => new RouteTableConfig(r.Unpack<RouteConfiguration>().Name, [])).ToFrozenDictionary(r => r.Name, StringComparer.Ordinal),
            },
            TypeUrls.Secret => Secrets(current, resources.Select(r => r.Unpack<Secret>())),
            _ => throw new XdsConfigException($"unexpected type {typeUrl}"),
        };
    }

    private static string NameOf(Any any) => any.TypeUrl switch
    {
        TypeUrls.Cluster => any.Unpack<Cluster>().Name,
        TypeUrls.Listener => any.Unpack<Listener>().Name,
        TypeUrls.Endpoint => any.Unpack<ClusterLoadAssignment>().ClusterName,
        TypeUrls.Route => any.Unpack<RouteConfiguration>().Name,
        TypeUrls.Secret => any.Unpack<Secret>().Name,
        _ => any.TypeUrl,
    };

    private static ClusterConfig Cluster(Cluster cluster)
    {
        var eds = cluster.EdsClusterConfig is not null;
        UpstreamTlsConfig? tls = null;
        if (cluster.TransportSocket?.TypedConfig is { } socket)
        {
            var context = socket.Unpack<UpstreamTlsContext>().CommonTlsContext;
            tls = new UpstreamTlsConfig(context.TlsCertificateSdsSecretConfigs[0].Name, context.ValidationContextSdsSecretConfig?.Name,
                null, [], [], SslProtocols.Tls12 | SslProtocols.Tls13);
        }

        return new ClusterConfig(cluster.Name, eds ? ClusterKind.Eds : ClusterKind.Static, TimeSpan.FromSeconds(5), LbPolicy.RoundRobin, 2, tls,
            UpstreamProtocol.Http1, eds && cluster.EdsClusterConfig!.ServiceName.Length > 0 ? cluster.EdsClusterConfig.ServiceName : null,
            [], [], null, null);
    }

    private static ListenerConfig Listener(Listener listener)
    {
        var chain = listener.FilterChains[0];
        DownstreamTlsConfig? tls = null;
        if (chain.TransportSocket?.TypedConfig is { } socket)
        {
            var context = socket.Unpack<DownstreamTlsContext>().CommonTlsContext;
            tls = new DownstreamTlsConfig(context.TlsCertificateSdsSecretConfigs[0].Name, context.ValidationContextSdsSecretConfig?.Name, true, [],
                SslProtocols.Tls12 | SslProtocols.Tls13);
        }

        var terminal = chain.Filters[^1];
        ListenerApp app = terminal.Name == "envoy.filters.network.http_connection_manager"
            ? new HttpConnectionManagerConfig("http", HttpCodec.Auto, null, terminal.TypedConfig.Unpack<HttpConnectionManager>().Rds?.RouteConfigName, null, null, false)
            : new TcpProxyConfig("tcp", "cluster", null, null);
        var address = listener.Address.SocketAddress;
        return new ListenerConfig(listener.Name, new IPEndPoint(IPAddress.Parse(address.Address), (int)address.PortValue),
            listener.TrafficDirection == Envoy.Config.Core.V3.TrafficDirection.Inbound ? Mesh.Sidecar.Config.TrafficDirection.Inbound : Mesh.Sidecar.Config.TrafficDirection.Outbound,
            tls, null, app);
    }

    private static SidecarState Secrets(SidecarState current, IEnumerable<Secret> secrets)
    {
        var certificates = new Dictionary<string, CertificateSecret>(StringComparer.Ordinal);
        var roots = new Dictionary<string, ValidationSecret>(StringComparer.Ordinal);
        foreach (var secret in secrets)
        {
            if (secret.TlsCertificate is { } tls)
            {
                var certificate = X509Certificate2.CreateFromPem(tls.CertificateChain.InlineString, tls.PrivateKey.InlineString);
                certificates[secret.Name] = new CertificateSecret(secret.Name, certificate, []);
            }
            else if (secret.ValidationContext is { } validation)
            {
                var collection = new X509Certificate2Collection();
                collection.ImportFromPem(validation.TrustedCa.InlineString);
                roots[secret.Name] = new ValidationSecret(secret.Name, collection);
            }
        }

        return current with
        {
            Certificates = certificates.ToFrozenDictionary(StringComparer.Ordinal),
            ValidationContexts = roots.ToFrozenDictionary(StringComparer.Ordinal),
        };
    }
}
