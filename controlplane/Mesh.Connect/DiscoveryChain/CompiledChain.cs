using Mesh.Connect.Entries;

namespace Mesh.Connect.DiscoveryChain;

/// <summary>
/// A service's discovery chain, compiled: where a request for the service goes, as a graph of router, splitter and
/// resolver nodes ending in targets (a service's subset in a datacenter). The xDS layer turns it into routes,
/// clusters and endpoints; the shape (node names, target IDs, SNI) is Consul's.
/// </summary>
/// <param name="ServiceName">The service the chain is for.</param>
/// <param name="Namespace">Its namespace (<c>default</c>).</param>
/// <param name="Datacenter">The datacenter it is evaluated in.</param>
/// <param name="Protocol">The service's protocol (tcp, http, http2, grpc).</param>
/// <param name="StartNode">The first node: the router if any, else the splitter, else the resolver.</param>
/// <param name="Nodes">Nodes by name (<c>router:&lt;svc&gt;</c>, <c>splitter:&lt;svc&gt;</c>, <c>resolver:&lt;target&gt;</c>).</param>
/// <param name="Targets">Targets by ID (<c>[subset.]svc.ns.dc</c>).</param>
/// <param name="Default">Whether nothing customizes the chain (a default resolver only).</param>
public sealed record CompiledChain(string ServiceName, string Namespace, string Datacenter, string Protocol, string StartNode,
    IReadOnlyDictionary<string, ChainNode> Nodes, IReadOnlyDictionary<string, ChainTarget> Targets, bool Default);

/// <summary>One node of the graph.</summary>
/// <param name="Type"><c>router</c>, <c>splitter</c> or <c>resolver</c>.</param>
/// <param name="Name">The node's name without its type prefix.</param>
/// <param name="Routes">A router's routes, in order, the catch-all last.</param>
/// <param name="Splits">A splitter's shares.</param>
/// <param name="Resolver">A resolver's settings.</param>
/// <param name="LoadBalancer">A resolver's load-balancing policy.</param>
public sealed record ChainNode(string Type, string Name, IReadOnlyList<ChainRoute>? Routes = null, IReadOnlyList<ChainSplit>? Splits = null,
    ChainResolver? Resolver = null, LoadBalancerConfig? LoadBalancer = null);

/// <summary>A router's route: its definition (match and destination) and the node it leads to.</summary>
public sealed record ChainRoute(RouterRoute Definition, string NextNode);

/// <summary>A splitter's share: percent (two decimals) and the node it leads to.</summary>
public sealed record ChainSplit(double Weight, string NextNode, HeaderModifiers? RequestHeaders, HeaderModifiers? ResponseHeaders);

/// <summary>A resolver: its target, timeouts and failover targets.</summary>
public sealed record ChainResolver(TimeSpan ConnectTimeout, TimeSpan RequestTimeout, bool Default, string Target, IReadOnlyList<string>? Failover);

/// <summary>A destination: one service's subset in one datacenter, with its TLS name.</summary>
public sealed record ChainTarget(string ID, string Service, string ServiceSubset, string Namespace, string Datacenter,
    ResolverSubset Subset, TimeSpan ConnectTimeout, string SNI)
{
    /// <summary>The cluster name Envoy uses: the SNI.</summary>
    public string Name => SNI;
}
