using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Xds.Cache;

namespace Mesh.Xds.Tests.Cache;

/// <summary>Small real Envoy resources and snapshots built from them.</summary>
internal static class XdsFixtures
{
    public static Cluster Cluster(string name, int timeoutSeconds = 5) => new()
    {
        Name = name,
        Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds,
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(timeoutSeconds)),
        EdsClusterConfig = new Envoy.Config.Cluster.V3.Cluster.Types.EdsClusterConfig { EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() } },
    };

    public static ClusterLoadAssignment Endpoints(string cluster, params int[] ports)
    {
        var locality = new LocalityLbEndpoints();
        foreach (var port in ports)
        {
            locality.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "10.0.0.1", PortValue = (uint)port } } },
            });
        }
        var assignment = new ClusterLoadAssignment { ClusterName = cluster };
        assignment.Endpoints.Add(locality);
        return assignment;
    }

    public static Listener Listener(string name, int port) => new()
    {
        Name = name,
        Address = new Address { SocketAddress = new SocketAddress { Address = "127.0.0.1", PortValue = (uint)port } },
    };

    public static RouteConfiguration Route(string name, string cluster)
    {
        var route = new RouteConfiguration { Name = name };
        var host = new VirtualHost { Name = name };
        host.Domains.Add("*");
        host.Routes.Add(new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = cluster } });
        route.VirtualHosts.Add(host);
        return route;
    }

    public static Secret Secret(string name, string pem) => new()
    {
        Name = name,
        TlsCertificate = new TlsCertificate { CertificateChain = new DataSource { InlineString = pem } },
    };

    public static ResourceSnapshot Snapshot(params IMessage[] messages) => ResourceSnapshot.FromResources(messages.Select(Resource.Create));

    /// <summary>One resource of every type: the usual sidecar shape, with <paramref name="port"/> as the thing that varies.</summary>
    public static ResourceSnapshot Full(int port = 8080, string pem = "cert-1", int timeout = 5, int listenerPort = 21000, string routeCluster = "api") => Snapshot(
        Secret("default", pem),
        Cluster("api", timeout),
        Endpoints("api", port),
        Listener("public_listener", listenerPort),
        Route("api", routeCluster));
}
