using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Mesh.Ca.Identity;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.State;
using Mesh.State.Watch;
using Mesh.State.Tables;
using Mesh.State.Text;

namespace Mesh.Xds.ProxyCfg;

/// <summary>
/// Reads one proxy's <see cref="ConfigSnapshot"/> out of a store view, registering a watch on everything it read so
/// the caller wakes when any input changes. Parts shared between proxies (parsed entries, compiled chains, endpoint
/// groups, the trust bundle) come from caches keyed by the index they were read at, so ten thousand proxies waking on
/// one change compute each part once.
/// </summary>
internal sealed class SnapshotAssembler
{
    private readonly string _node;
    private readonly string _datacenter;
    private readonly bool _defaultAllow;
    private readonly MeshConfigCache _config = new();
    private readonly EndpointCache _endpoints = new();
    private readonly ConcurrentDictionary<ChainKey, CompiledChainOrError> _chains = new();
    private readonly ConcurrentDictionary<string, IntentionsMemo> _intentions = new(StringComparer.Ordinal);
    // Registrations are immutable rows that live until they change, so each one's Proxy block is read once, and its
    // settings once per proxy-defaults entry, however often the proxy's inputs wake it.
    private readonly ConditionalWeakTable<ServiceInstance, ParsedProxy> _proxies = new();
    private volatile RootsMemo? _roots;
    private (CaConfiguration Config, string TrustDomain)? _trustDomain;

    /// <param name="node">This agent's node: the proxies it configures are registered there.</param>
    /// <param name="datacenter">This agent's datacenter.</param>
    /// <param name="defaultAllow">Whether connections no intention matches are allowed.</param>
    public SnapshotAssembler(string node, string datacenter, bool defaultAllow)
    {
        _node = node;
        _datacenter = datacenter;
        _defaultAllow = defaultAllow;
    }

    /// <summary>Chains that failed to compile (a redirect loop written by another version); such upstreams are left out.</summary>
    public long ChainErrors => Interlocked.Read(ref _chainErrors);

    private long _chainErrors;

    /// <summary>The registered <c>connect-proxy</c> with ID <paramref name="proxyId"/> on this node, or null.</summary>
    public ServiceInstance? FindProxy(StateView view, WatchSet? ws, string proxyId) =>
        view.NodeService(_node, proxyId, ws) is { Kind: "connect-proxy" } proxy ? proxy : null;

    /// <summary>
    /// The snapshot of sidecar <paramref name="proxy"/>, or null while something it needs is missing (no CA yet, no
    /// leaf yet, no destination service name).
    /// </summary>
    /// <exception cref="FormatException">The proxy's <c>Proxy</c> block cannot be read.</exception>
    public ConfigSnapshot? Sidecar(StateView view, WatchSet? ws, ServiceInstance proxy, LeafCertificate? leaf)
    {
        var parsed = Parse(proxy);
        var definition = parsed.Definition;
        if (definition is null || definition.DestinationServiceName.Length == 0 || leaf is null) return null;
        if (TrustDomain(view, ws) is not { } trustDomain) return null;

        var config = _config.Current(view, ws);
        var destination = definition.DestinationServiceName;
        var protocol = Str(definition.Config, "protocol") is { Length: > 0 } own ? own.ToLowerInvariant() : config.Entries.Protocol(destination);

        var upstreams = new List<UpstreamSnapshot>(definition.Upstreams.Count);
        foreach (var u in definition.Upstreams)
        {
            // Prepared-query upstreams need the agent's query executor; Mesh resolves service upstreams only.
            if (u.DestinationType != "service" || u.DestinationName.Length == 0 || u.LocalBindPort <= 0) continue;
            if (Upstream(view, ws, config, trustDomain, ProxyMode.Sidecar, u.DestinationName,
                    u.Datacenter.Length > 0 ? u.Datacenter : _datacenter, u.LocalBindAddress, u.LocalBindPort, u.Config) is { } up)
                upstreams.Add(up);
        }

        return new ConfigSnapshot
        {
            Mode = ProxyMode.Sidecar,
            ProxyId = proxy.ID,
            ProxyName = proxy.Service,
            Datacenter = _datacenter,
            TrustDomain = trustDomain,
            Local = new LocalService(destination, definition.DestinationServiceId,
                proxy.Address.Length > 0 ? proxy.Address : "0.0.0.0", proxy.Port, definition.LocalServiceAddress,
                definition.LocalServicePort, protocol),
            Roots = Roots(view, ws),
            Leaf = leaf,
            Intentions = Intentions(config, destination),
            DefaultAllow = _defaultAllow,
            Upstreams = upstreams,
            Settings = parsed.SettingsWith(config.Entries.ProxyDefaults),
        };
    }

    /// <summary>The registration's <c>Proxy</c> block, read once per registration.</summary>
    /// <exception cref="FormatException">The block cannot be read.</exception>
    public ProxyDefinition? Definition(ServiceInstance proxy) => Parse(proxy).Definition;

    private ParsedProxy Parse(ServiceInstance proxy)
    {
        var parsed = _proxies.GetValue(proxy, static p =>
        {
            try
            {
                return new ParsedProxy(ProxyDefinition.Parse(p.ProxyJson), null);
            }
            catch (FormatException ex)
            {
                return new ParsedProxy(null, ex.Message);
            }
        });
        return parsed.Error is null ? parsed : throw new FormatException(parsed.Error);
    }

    /// <summary>The intentions whose destination is <paramref name="destination"/> or <c>*</c>, one list per entries change.</summary>
    private IReadOnlyList<IntentionRule> Intentions(MeshConfig config, string destination)
    {
        if (_intentions.TryGetValue(destination, out var memo) && memo.Index == config.Index) return memo.Rules;
        var rules = config.Intentions.Match(destination, byDestination: true);
        // An equal list keeps the older object (the rules are shared per entry), so snapshots compare it cheaply.
        if (memo is not null && memo.Rules.Count == rules.Count && memo.Rules.Zip(rules).All(p => ReferenceEquals(p.First, p.Second)))
            rules = memo.Rules;
        _intentions[destination] = new IntentionsMemo(config.Index, rules);
        return rules;
    }

    /// <summary>
    /// The view a proxyless gRPC client gets: every service in the catalog (proxies excepted) as an upstream named
    /// after it, with its instances as endpoints. One snapshot serves every proxyless client; each is sent only the
    /// resources it names.
    /// </summary>
    public ConfigSnapshot? Proxyless(StateView view, WatchSet? ws, string nodeId)
    {
        var (_, services) = view.CatalogServices(ws);
        var trustDomain = TrustDomain(view, ws) ?? "";
        var config = _config.Current(view, ws);
        var upstreams = new List<UpstreamSnapshot>(services.Count);
        foreach (var (name, _) in services)
        {
            if (name == "consul" || IsProxyOnly(view, name)) continue;
            if (Upstream(view, ws, config, trustDomain, ProxyMode.Proxyless, name, _datacenter, "", 0,
                    new Dictionary<string, JsonElement>()) is { } up)
                upstreams.Add(up);
        }
        return new ConfigSnapshot
        {
            Mode = ProxyMode.Proxyless,
            ProxyId = nodeId,
            Datacenter = _datacenter,
            TrustDomain = trustDomain,
            DefaultAllow = _defaultAllow,
            Upstreams = upstreams,
        };
    }

    private static bool IsProxyOnly(StateView view, string service)
    {
        var (_, instances) = view.ServiceInstances(service);
        return instances.Count > 0 && instances.All(i => i.Service.Kind.Length > 0);
    }

    private UpstreamSnapshot? Upstream(StateView view, WatchSet? ws, MeshConfig config, string trustDomain, ProxyMode mode,
        string name, string datacenter, string bindAddress, int bindPort, IReadOnlyDictionary<string, JsonElement> upstreamConfig)
    {
        var protocolOverride = Str(upstreamConfig, "protocol");
        TimeSpan? connectTimeout = Int(upstreamConfig, "connect_timeout_ms") is > 0 and var ms ? TimeSpan.FromMilliseconds(ms) : null;
        var chain = Chain(config, new ChainRequest(name, datacenter, trustDomain,
            protocolOverride.Length > 0 ? protocolOverride : null, connectTimeout));
        if (chain is null) return null;

        var endpoints = new Dictionary<string, EndpointGroup>(chain.Targets.Count, StringComparer.Ordinal);
        foreach (var (id, target) in chain.Targets)
            endpoints[id] = target.Datacenter == _datacenter
                ? _endpoints.Get(view, ws, mode, target.Service, target.Subset)
                // No WAN federation yet: a target in another datacenter has nobody to send to.
                : EndpointGroup.Empty;

        return new UpstreamSnapshot(name, bindAddress, bindPort, chain.Protocol, chain, endpoints, connectTimeout,
            Limits(upstreamConfig), PassiveHealth(upstreamConfig));
    }

    private CompiledChain? Chain(MeshConfig config, ChainRequest request)
    {
        var key = new ChainKey(request);
        if (_chains.TryGetValue(key, out var memo) && memo.Index == config.Index) return memo.Chain;
        CompiledChain? chain = null;
        try
        {
            chain = ChainCompiler.Compile(request, config.Entries);
        }
        catch (ChainCompileException)
        {
            Interlocked.Increment(ref _chainErrors);
        }
        // An equal recompilation keeps the older object, so snapshots can compare chains by reference.
        if (memo is not null && chain is not null && memo.Chain is not null && ChainsEqual(memo.Chain, chain)) chain = memo.Chain;
        _chains[key] = new CompiledChainOrError(config.Index, chain);
        return chain;
    }

    private static bool ChainsEqual(CompiledChain a, CompiledChain b) =>
        a.Protocol == b.Protocol && a.StartNode == b.StartNode && a.Nodes.Count == b.Nodes.Count && a.Targets.Count == b.Targets.Count
        && a.Nodes.All(n => b.Nodes.TryGetValue(n.Key, out var o) && NodesEqual(n.Value, o))
        && a.Targets.All(t => b.Targets.TryGetValue(t.Key, out var o) && t.Value == o);

    private static bool NodesEqual(ChainNode a, ChainNode b) =>
        a.Type == b.Type && a.Name == b.Name && a.Resolver == b.Resolver && Equals(a.LoadBalancer, b.LoadBalancer)
        && (a.Splits ?? []).SequenceEqual(b.Splits ?? [])
        && (a.Routes ?? []).Select(r => (JsonSerializer.Serialize(r.Definition), r.NextNode))
            .SequenceEqual((b.Routes ?? []).Select(r => (JsonSerializer.Serialize(r.Definition), r.NextNode)));

    private string? TrustDomain(StateView view, WatchSet? ws)
    {
        if (view.CaConfig(ws).Config is not { } ca) return null;
        var memo = _trustDomain;
        if (memo is not null && ReferenceEquals(memo.Value.Config, ca)) return memo.Value.TrustDomain;
        var trustDomain = SpiffeId.TrustDomainOf(ca.ClusterID);
        _trustDomain = (ca, trustDomain);
        return trustDomain;
    }

    private IReadOnlyList<RootCertificate> Roots(StateView view, WatchSet? ws)
    {
        var (index, roots) = view.CaRoots(ws);
        var memo = _roots;
        if (memo is not null && memo.Index == index) return memo.Roots;
        var list = roots.OrderByDescending(r => r.Active)
            .Select(r => new RootCertificate(r.ID, string.Join("", new[] { r.RootCert }.Concat(r.IntermediateCerts).Select(Pem)), r.Active))
            .ToList();
        _roots = new RootsMemo(index, list);
        return list;
    }

    private static string Pem(string pem) => pem.EndsWith('\n') ? pem : pem + "\n";

    internal static Dictionary<string, JsonElement> Merge(IReadOnlyDictionary<string, JsonElement>? defaults,
        IReadOnlyDictionary<string, JsonElement> own)
    {
        var merged = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (defaults is not null)
            foreach (var (k, v) in defaults) merged[k] = v;
        foreach (var (k, v) in own) merged[k] = v;
        return merged;
    }

    internal static ProxySettings Settings(IReadOnlyDictionary<string, JsonElement> config) => new()
    {
        BindAddress = Str(config, "bind_address") is { Length: > 0 } a ? a : null,
        BindPort = Int(config, "bind_port") is > 0 and var p ? p : null,
        LocalConnectTimeout = Int(config, "local_connect_timeout_ms") is > 0 and var c ? TimeSpan.FromMilliseconds(c) : TimeSpan.FromSeconds(5),
        LocalRequestTimeout = Int(config, "local_request_timeout_ms") is > 0 and var r ? TimeSpan.FromMilliseconds(r) : null,
        TracingJson = JsonText(config, "envoy_tracing_json") is { Length: > 0 } t ? t : null,
        ExtraStaticClustersJson = JsonText(config, "envoy_extra_static_clusters_json") is { Length: > 0 } x ? x : null,
        PrometheusBindAddress = Str(config, "envoy_prometheus_bind_addr") is { Length: > 0 } pr ? pr : null,
    };

    private static UpstreamLimits? Limits(IReadOnlyDictionary<string, JsonElement> config)
    {
        if (!config.TryGetValue("limits", out var l) || l.ValueKind != JsonValueKind.Object) return null;
        var m = l.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        int? Opt(string k) => Int(m, k) is > 0 and var n ? n : null;
        return new UpstreamLimits(Opt("max_connections"), Opt("max_pending_requests"), Opt("max_concurrent_requests"));
    }

    private static PassiveHealthCheck? PassiveHealth(IReadOnlyDictionary<string, JsonElement> config)
    {
        if (!config.TryGetValue("passive_health_check", out var h) || h.ValueKind != JsonValueKind.Object) return null;
        var m = h.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        var interval = m.TryGetValue("interval", out var i) && i.ValueKind == JsonValueKind.String && GoDuration.TryParse(i.GetString(), out var d)
            ? d : TimeSpan.FromSeconds(10);
        int? enforcing = m.TryGetValue("enforcing_consecutive_5xx", out var e) && e.TryGetInt32(out var en) ? en : null;
        return new PassiveHealthCheck(interval, Int(m, "max_failures") is > 0 and var f ? f : 5, enforcing);
    }

    /// <summary>A string setting; numbers and booleans given as JSON values are accepted in their text form.</summary>
    private static string Str(IReadOnlyDictionary<string, JsonElement> config, string key) =>
        config.TryGetValue(key, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString()!,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
            _ => "",
        } : "";

    /// <summary>
    /// A setting that carries JSON. Consul's form is a string holding the JSON; an object or array written in place is
    /// taken as the same JSON, as the bootstrap does, rather than read as empty and silently ignored.
    /// </summary>
    private static string JsonText(IReadOnlyDictionary<string, JsonElement> config, string key) =>
        config.TryGetValue(key, out var v) && v.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? v.GetRawText() : Str(config, key);

    /// <summary>An integer setting, given as a number or as a numeric string (config files carry both).</summary>
    private static int Int(IReadOnlyDictionary<string, JsonElement> config, string key) =>
        config.TryGetValue(key, out var v) && (v.ValueKind == JsonValueKind.Number ? v.TryGetInt32(out var n)
            : v.ValueKind == JsonValueKind.String && int.TryParse(v.GetString(), out n)) ? n : 0;

    private readonly record struct ChainKey(ChainRequest Request);

    private sealed record CompiledChainOrError(ulong Index, CompiledChain? Chain);

    private sealed record RootsMemo(ulong Index, IReadOnlyList<RootCertificate> Roots);

    private sealed record IntentionsMemo(ulong Index, IReadOnlyList<IntentionRule> Rules);

    /// <summary>A registration's parsed Proxy block, with its settings for the proxy-defaults entry last seen.</summary>
    private sealed class ParsedProxy(ProxyDefinition? definition, string? error)
    {
        private (ProxyDefaultsEntry? Defaults, ProxySettings Settings)? _settings;

        public ProxyDefinition? Definition { get; } = definition;
        public string? Error { get; } = error;

        public ProxySettings SettingsWith(ProxyDefaultsEntry? defaults)
        {
            var memo = _settings;
            if (memo is { } m && ReferenceEquals(m.Defaults, defaults)) return m.Settings;
            var settings = SnapshotAssembler.Settings(Merge(defaults?.Config, Definition!.Config));
            _settings = (defaults, settings);
            return settings;
        }
    }
}
