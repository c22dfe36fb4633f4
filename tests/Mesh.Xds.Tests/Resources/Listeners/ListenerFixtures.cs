using System.Text.Json;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Xds.Tests.Resources.Listeners;

/// <summary>Snapshots for the listener and RBAC builders: a tcp sidecar, an http sidecar with L7 intentions, proxyless.</summary>
internal static class ListenerFixtures
{
    public const string TrustDomain = "11111111-2222-3333-4444-555555555555.consul";
    public const string Datacenter = "dc1";

    /// <summary>The SPIFFE ID a sidecar of <paramref name="service"/> presents.</summary>
    public static string SpiffeId(string service, string dc = Datacenter) => $"spiffe://{TrustDomain}/ns/default/dc/{dc}/svc/{service}";

    /// <summary>An L4 intention.</summary>
    public static IntentionRule Rule(string source, string destination, string action) =>
        new(source, destination, action, [], Precedence.Of(source, destination), "", "", new Dictionary<string, string>(), null, null, 0, 0);

    /// <summary>An L7 intention.</summary>
    public static IntentionRule L7(string source, string destination, params IntentionPermission[] permissions) =>
        new(source, destination, "", permissions, Precedence.Of(source, destination), "", "", new Dictionary<string, string>(), null, null, 0, 0);

    /// <summary>An L7 permission.</summary>
    public static IntentionPermission Permission(string action, IntentionHttpMatch? http) => new() { Action = action, HTTP = http };

    /// <summary>Intentions in the order proxycfg hands them over (Consul's precedence order).</summary>
    public static IReadOnlyList<IntentionRule> Sorted(params IntentionRule[] rules) =>
        rules.OrderBy(r => r, Comparer<IntentionRule>.Create(IntentionSet.Compare)).ToList();

    /// <summary>A compiled chain for <paramref name="service"/> with the given config entries (JSON).</summary>
    public static CompiledChain Chain(string service, params string[] entries) =>
        ChainCompiler.Compile(new ChainRequest(service, Datacenter, TrustDomain),
            new ChainEntries(entries.Select(json => EntryCodec.Read(JsonDocument.Parse(json).RootElement))));

    /// <summary>An upstream whose endpoints are empty groups (listeners never look at them).</summary>
    public static UpstreamSnapshot Upstream(string name, int port, string protocol, CompiledChain chain, string bindAddress = "127.0.0.1") =>
        new(name, bindAddress, port, protocol, chain, chain.Targets.Keys.ToDictionary(k => k, _ => EndpointGroup.Empty));

    /// <summary>A sidecar for <paramref name="service"/> speaking <paramref name="protocol"/>, with no upstream or intention.</summary>
    public static ConfigSnapshot Sidecar(string service, string protocol, int port = 21000, string address = "10.0.0.5") => new()
    {
        ProxyId = $"{service}-1-sidecar-proxy",
        ProxyName = $"{service}-sidecar-proxy",
        Datacenter = Datacenter,
        TrustDomain = TrustDomain,
        Local = new LocalService(service, $"{service}-1", address, port, "127.0.0.1", 9003, protocol),
    };

    /// <summary>The demo's dashboard: a tcp sidecar with a tcp upstream <c>counting</c> on 127.0.0.1:5000, default deny, one allow.</summary>
    public static ConfigSnapshot TcpSidecar() => Sidecar("dashboard", "tcp") with
    {
        DefaultAllow = false,
        Intentions = Sorted(Rule("web", "dashboard", "allow")),
        Upstreams = [Upstream("counting", 5000, "tcp", Chain("counting"))],
    };

    /// <summary>Protocol http for a service, as <c>service-defaults</c>.</summary>
    public static string HttpDefaults(string service) => $$"""{"Kind":"service-defaults","Name":"{{service}}","Protocol":"http"}""";

    /// <summary>
    /// An http sidecar of <c>api</c> under default deny: <c>web</c> may GET <c>/v1/</c> except <c>/v1/admin</c>, and not
    /// with the header <c>x-debug</c>; <c>ops</c> is denied; everyone else is allowed at L4. Upstream <c>billing</c> is http.
    /// </summary>
    public static ConfigSnapshot HttpSidecar() => Sidecar("api", "http") with
    {
        DefaultAllow = false,
        Intentions = Sorted(
            L7("web", "api",
                Permission("deny", new IntentionHttpMatch { PathPrefix = "/v1/admin" }),
                Permission("allow", new IntentionHttpMatch
                {
                    PathPrefix = "/v1/",
                    Methods = ["GET", "HEAD"],
                    Header = [new HeaderMatch { Name = "x-debug", Present = true, Invert = true }],
                }),
                Permission("allow", new IntentionHttpMatch { PathExact = "/health" })),
            Rule("ops", "api", "deny"),
            Rule("*", "api", "allow")),
        Settings = ProxySettings.Default with { LocalRequestTimeout = TimeSpan.FromSeconds(15) },
        Upstreams = [Upstream("billing", 9191, "http", Chain("billing", HttpDefaults("billing")))],
    };

    /// <summary>A proxyless gRPC client asking for two services.</summary>
    public static ConfigSnapshot Proxyless() => new()
    {
        Mode = ProxyMode.Proxyless,
        ProxyId = "client-7",
        Datacenter = Datacenter,
        TrustDomain = TrustDomain,
        Upstreams =
        [
            Upstream("greeter", 0, "grpc", Chain("greeter", """{"Kind":"service-defaults","Name":"greeter","Protocol":"grpc"}""")),
            Upstream("billing", 0, "http", Chain("billing", HttpDefaults("billing"))),
        ],
    };

    /// <summary>A Zipkin tracer as <c>envoy_tracing_json</c> (Consul's documented example, snake_case field names).</summary>
    public const string ZipkinTracingJson = """
        {
          "http": {
            "name": "envoy.tracers.zipkin",
            "typed_config": {
              "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig",
              "collector_cluster": "zipkin",
              "collector_endpoint_version": "HTTP_JSON",
              "collector_endpoint": "/api/v2/spans",
              "shared_span_context": false
            }
          }
        }
        """;
}
