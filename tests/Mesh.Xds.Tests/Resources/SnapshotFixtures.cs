using System.Text.Json;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Xds.Tests.Resources;

/// <summary>
/// Snapshots for the resource builders' tests: a sidecar with a TCP upstream, a sidecar with an HTTP upstream through a
/// router, a splitter, subsets and failover (and a gRPC one), and a proxyless client of the same services. Chains are
/// compiled by the real compiler from config entries, so the builders see what proxycfg will hand them.
/// </summary>
internal static class SnapshotFixtures
{
    public const string TrustDomain = "11111111-2222-3333-4444-555555555555.consul";
    public const string Datacenter = "dc1";

    public const string LeafPem = "-----BEGIN CERTIFICATE-----\nTEVBRg==\n-----END CERTIFICATE-----\n";
    public const string LeafKeyPem = "-----BEGIN EC PRIVATE KEY-----\nS0VZ\n-----END EC PRIVATE KEY-----\n";
    public const string ActiveRootPem = "-----BEGIN CERTIFICATE-----\nUk9PVDE=\n-----END CERTIFICATE-----";
    public const string OldRootPem = "-----BEGIN CERTIFICATE-----\nUk9PVDI=\n-----END CERTIFICATE-----\n";

    /// <summary>The SNI of a target ID in the fixtures' trust domain.</summary>
    public static string Sni(string targetId) => $"{targetId}.internal.{TrustDomain}";

    /// <summary>The L7 entries: api (router → splitter → subsets with failover), admin (ring hash), greeter (gRPC).</summary>
    public static readonly string[] L7Entries =
    [
        """{"Kind":"service-defaults","Name":"api","Protocol":"http"}""",
        """{"Kind":"service-defaults","Name":"admin","Protocol":"http"}""",
        """{"Kind":"service-defaults","Name":"greeter","Protocol":"grpc"}""",
        """{"Kind":"service-resolver","Name":"api","DefaultSubset":"v1","ConnectTimeout":"3s","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2"}},"Failover":{"v1":{"Datacenters":["dc2"]}}}""",
        """{"Kind":"service-resolver","Name":"admin","RequestTimeout":"15s","LoadBalancer":{"Policy":"ring_hash","RingHashConfig":{"MinimumRingSize":1024,"MaximumRingSize":8192},"HashPolicies":[{"Field":"header","FieldValue":"x-user"},{"Field":"cookie","FieldValue":"session","CookieConfig":{"TTL":"30s","Path":"/"}},{"SourceIP":true,"Terminal":true}]}}""",
        """{"Kind":"service-splitter","Name":"api","Splits":[{"Weight":66.67,"ServiceSubset":"v1"},{"Weight":33.33,"ServiceSubset":"v2","RequestHeaders":{"Set":{"x-canary":"true"},"Remove":["x-debug"]},"ResponseHeaders":{"Add":{"x-served-by":"v2"}}}]}""",
        """
        {"Kind":"service-router","Name":"api","Routes":[
          {"Match":{"HTTP":{"PathPrefix":"/admin"}},"Destination":{"Service":"admin","PrefixRewrite":"/","RequestTimeout":"2s","IdleTimeout":"30s"}},
          {"Match":{"HTTP":{"PathExact":"/v2","Header":[{"Name":"x-canary","Exact":"always"},{"Name":"x-debug","Present":true,"Invert":true}],"Methods":["GET","post"]}},
           "Destination":{"ServiceSubset":"v2","NumRetries":3,"RetryOnConnectFailure":true,"RetryOnStatusCodes":[503,504],"RetryOn":["reset"],"RequestHeaders":{"Add":{"x-route":"v2"}}}},
          {"Match":{"HTTP":{"PathRegex":"/items/[0-9]+","Header":[{"Name":"x-tenant","Prefix":"a"},{"Name":"x-region","Suffix":"-1"},{"Name":"x-id","Regex":"[a-f]+"}],"QueryParam":[{"Name":"debug","Present":true},{"Name":"mode","Exact":"fast"},{"Name":"v","Regex":"[0-9]"}]}},
           "Destination":{"ServiceSubset":"v1"}}
        ]}
        """,
    ];

    public static CompiledChain Chain(string service, params string[] entries) =>
        ChainCompiler.Compile(new ChainRequest(service, Datacenter, TrustDomain),
            new ChainEntries(entries.Select(e => EntryCodec.Read(JsonDocument.Parse(e).RootElement))));

    public static EndpointGroup Group(params ServiceEndpoint[] endpoints) => new(endpoints);

    /// <summary>The sidecar of web-1: TLS material, local app on 8080, and the given upstreams.</summary>
    public static ConfigSnapshot Sidecar(IReadOnlyList<UpstreamSnapshot> upstreams, string localProtocol = "tcp", ProxySettings? settings = null) => new()
    {
        Mode = ProxyMode.Sidecar,
        ProxyId = "web-1-sidecar-proxy",
        ProxyName = "web-sidecar-proxy",
        Datacenter = Datacenter,
        TrustDomain = TrustDomain,
        Local = new LocalService("web", "web-1", "10.0.0.1", 21000, "127.0.0.1", 8080, localProtocol),
        Roots = [new RootCertificate("root-1", ActiveRootPem, true), new RootCertificate("root-0", OldRootPem, false)],
        Leaf = new LeafCertificate(LeafPem, LeafKeyPem, "01:02:03"),
        Upstreams = upstreams,
        Settings = settings ?? ProxySettings.Default,
    };

    /// <summary>The db upstream: TCP, default chain, two instances (one unhealthy), limits, passive health check, 1.5 s connect timeout.</summary>
    public static UpstreamSnapshot DbUpstream() => new("db", "127.0.0.1", 9191, "tcp", Chain("db"),
        new Dictionary<string, EndpointGroup>
        {
            ["db.default.dc1"] = Group(new ServiceEndpoint("10.0.0.2", 21000, true, 1), new ServiceEndpoint("10.0.0.3", 21000, false, 1)),
        },
        ConnectTimeout: TimeSpan.FromMilliseconds(1500),
        Limits: new UpstreamLimits(100, 10, null),
        PassiveHealthCheck: new PassiveHealthCheck(TimeSpan.FromSeconds(10), 5, 80));

    /// <summary>The api upstream: router, splitter 66.67/33.33 over subsets, v1 failing over to dc2, admin behind a route.</summary>
    public static UpstreamSnapshot ApiUpstream() => new("api", "127.0.0.1", 9192, "http", Chain("api", L7Entries),
        new Dictionary<string, EndpointGroup>
        {
            ["v1.api.default.dc1"] = Group(new ServiceEndpoint("10.0.1.1", 21000, true, 3), new ServiceEndpoint("10.0.1.2", 21000, true, 0)),
            ["v2.api.default.dc1"] = Group(new ServiceEndpoint("10.0.1.3", 21000, true, 1)),
            ["v1.api.default.dc2"] = Group(new ServiceEndpoint("10.1.1.1", 21000, true, 500)),
            ["admin.default.dc1"] = EndpointGroup.Empty,
        });

    /// <summary>The greeter upstream: gRPC, default chain.</summary>
    public static UpstreamSnapshot GreeterUpstream() => new("greeter", "127.0.0.1", 9193, "grpc", Chain("greeter", L7Entries),
        new Dictionary<string, EndpointGroup> { ["greeter.default.dc1"] = Group(new ServiceEndpoint("10.0.2.1", 50051, true, 1)) });

    /// <summary>A sidecar with the TCP db upstream only.</summary>
    public static ConfigSnapshot SidecarTcp() => Sidecar([DbUpstream()]);

    /// <summary>A sidecar with a gRPC local app, the api (HTTP) and greeter (gRPC) upstreams.</summary>
    public static ConfigSnapshot SidecarHttp() => Sidecar([ApiUpstream(), GreeterUpstream()], localProtocol: "grpc");

    /// <summary>A proxyless gRPC client of api and greeter: no local service, no TLS material.</summary>
    public static ConfigSnapshot Proxyless() => new()
    {
        Mode = ProxyMode.Proxyless,
        ProxyId = "client-1",
        Datacenter = Datacenter,
        TrustDomain = TrustDomain,
        Upstreams =
        [
            ApiUpstream() with { BindAddress = "", BindPort = 0 },
            GreeterUpstream() with { BindAddress = "", BindPort = 0 },
        ],
    };
}
