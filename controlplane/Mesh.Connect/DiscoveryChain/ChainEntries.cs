using Mesh.Connect.Entries;

namespace Mesh.Connect.DiscoveryChain;

/// <summary>The config entries a chain is compiled from, looked up by kind and service.</summary>
public sealed class ChainEntries
{
    private readonly Dictionary<string, ServiceDefaultsEntry> _defaults;
    private readonly Dictionary<string, ServiceResolverEntry> _resolvers;
    private readonly Dictionary<string, ServiceSplitterEntry> _splitters;
    private readonly Dictionary<string, ServiceRouterEntry> _routers;

    /// <summary>The entries a chain may read (other kinds are ignored); later ones of the same kind and name win.</summary>
    public ChainEntries(IEnumerable<ConfigEntry> entries)
    {
        _defaults = new(StringComparer.Ordinal);
        _resolvers = new(StringComparer.Ordinal);
        _splitters = new(StringComparer.Ordinal);
        _routers = new(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            switch (e)
            {
                case ServiceDefaultsEntry d: _defaults[d.Name] = d; break;
                case ProxyDefaultsEntry p: ProxyDefaults = p; break;
                case ServiceResolverEntry r: _resolvers[r.Name] = r; break;
                case ServiceSplitterEntry s: _splitters[s.Name] = s; break;
                case ServiceRouterEntry r: _routers[r.Name] = r; break;
            }
        }
    }

    /// <summary>The <c>proxy-defaults</c> entry, if any.</summary>
    public ProxyDefaultsEntry? ProxyDefaults { get; private set; }

    /// <summary>A service's defaults, if any.</summary>
    public ServiceDefaultsEntry? Defaults(string service) => _defaults.GetValueOrDefault(service);

    /// <summary>A service's resolver, if any.</summary>
    public ServiceResolverEntry? Resolver(string service) => _resolvers.GetValueOrDefault(service);

    /// <summary>A service's splitter, if any.</summary>
    public ServiceSplitterEntry? Splitter(string service) => _splitters.GetValueOrDefault(service);

    /// <summary>A service's router, if any.</summary>
    public ServiceRouterEntry? Router(string service) => _routers.GetValueOrDefault(service);

    /// <summary>
    /// A service's protocol: its service-defaults, else proxy-defaults' <c>protocol</c>, else tcp. Lower-cased, as
    /// Consul compares it.
    /// </summary>
    public string Protocol(string service)
    {
        if (Defaults(service)?.Protocol is { Length: > 0 } p) return p.ToLowerInvariant();
        if (ProxyDefaults?.Config?.TryGetValue("protocol", out var value) == true && value.ValueKind == System.Text.Json.JsonValueKind.String)
            return value.GetString()!.ToLowerInvariant();
        return "tcp";
    }

    /// <summary>Whether <paramref name="protocol"/> carries requests that routers and splitters can look into.</summary>
    public static bool IsHttpLike(string protocol) => protocol is "http" or "http2" or "grpc";
}
