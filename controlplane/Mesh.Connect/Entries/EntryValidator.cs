using System.Globalization;
using System.Text.Json;

namespace Mesh.Connect.Entries;

/// <summary>
/// Checks config entries where Consul checks them: each entry on its own (the rules of Consul's
/// <c>ConfigEntry.Validate</c>, with its messages), then the graph the entry joins (Consul compiles every discovery
/// chain a write can change, and refuses the write if one no longer compiles: a router on a TCP service, a split to a
/// subset that does not exist, a redirect loop, L7 intentions on a service that is not HTTP). Writes go through
/// <see cref="Normalize"/> first, so what is checked is what is stored.
/// </summary>
public static partial class EntryValidator
{
    /// <summary>The datacenter target IDs name when the caller does not say (Consul compiles test chains in <c>dc1</c>).</summary>
    public const string DefaultDatacenter = "dc1";

    /// <summary>The protocols a service may declare.</summary>
    public static readonly IReadOnlyList<string> Protocols = ["tcp", "http", "http2", "grpc"];

    // Consul's limits on entry metadata (agent/structs/structs.go).
    private const int MetaMaxKeyPairs = 64, MetaKeyMaxLength = 128, MetaValueMaxLength = 512;

    /// <summary>
    /// The entry as it is stored: protocols lower-cased, HTTP methods upper-cased, split weights rounded to 0.01%,
    /// an unnamed proxy-defaults named <c>global</c>, intention sources typed <c>consul</c> when untyped and their
    /// read-only <c>Precedence</c> computed from the names (never taken from a writer). The input is not changed.
    /// </summary>
    public static ConfigEntry Normalize(ConfigEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry switch
        {
            ServiceDefaultsEntry d => d with { Protocol = d.Protocol.ToLowerInvariant() },
            ProxyDefaultsEntry p => p.Name.Length == 0 ? p with { Name = ProxyDefaultsEntry.GlobalName } : p,
            ServiceSplitterEntry s => s with { Splits = s.Splits?.Select(x => x with { Weight = RoundWeight(x.Weight) }).ToList() },
            ServiceRouterEntry r => r with { Routes = r.Routes?.Select(NormalizeRoute).ToList() },
            ServiceIntentionsEntry i => i with { Sources = i.Sources?.Select(s => NormalizeSource(s, i.Name)).ToList() },
            _ => entry,
        };

        static RouterRoute NormalizeRoute(RouterRoute route) => route.Match?.HTTP is { Methods: { } methods } http
            ? route with { Match = route.Match with { HTTP = http with { Methods = methods.Select(m => m.ToUpperInvariant()).ToList() } } }
            : route;

        static IntentionSource NormalizeSource(IntentionSource source, string destination) => source with
        {
            Type = source.Type.Length == 0 ? "consul" : source.Type,
            Precedence = Intentions.Precedence.Of(source.Name, destination),
            Permissions = source.Permissions?.Select(p => p.HTTP is { Methods: { } methods } http
                ? p with { HTTP = http with { Methods = methods.Select(m => m.ToUpperInvariant()).ToList() } }
                : p).ToList(),
        };
    }

    /// <summary>
    /// Validates a write of <paramref name="entry"/> (normalized first) over the entries stored now, in
    /// <see cref="DefaultDatacenter"/>.
    /// </summary>
    /// <param name="entry">The entry to write; it replaces any stored entry of the same kind and name.</param>
    /// <param name="existing">Every stored entry, of every kind.</param>
    /// <exception cref="ConfigEntryException">The entry, or the graph with it, is invalid; the message says why.</exception>
    public static void Validate(ConfigEntry entry, IReadOnlyList<ConfigEntry> existing) => Validate(entry, existing, DefaultDatacenter);

    /// <summary>Validates a write of <paramref name="entry"/> over <paramref name="existing"/>; target IDs in messages name <paramref name="datacenter"/>.</summary>
    /// <exception cref="ConfigEntryException">The entry, or the graph with it, is invalid; the message says why.</exception>
    public static void Validate(ConfigEntry entry, IReadOnlyList<ConfigEntry> existing, string datacenter) =>
        Validate(entry, existing, datacenter, legacyFields: false);

    /// <summary>
    /// Validates a write that the intentions API (<c>/v1/connect/intentions</c>) makes: as
    /// <see cref="Validate(ConfigEntry, IReadOnlyList{ConfigEntry}, string)"/>, except that a source may carry what
    /// the legacy API keeps for the intentions it made (<c>LegacyID</c> with its times and metadata). Writers of
    /// whole entries (<c>/v1/config</c>) may not set those fields; the API sets them and keeps them on every source it
    /// does not touch.
    /// </summary>
    /// <exception cref="ConfigEntryException">The entry, or the graph with it, is invalid; the message says why.</exception>
    public static void ValidateIntentionsWrite(ServiceIntentionsEntry entry, IReadOnlyList<ConfigEntry> existing, string datacenter) =>
        Validate(entry, existing, datacenter, legacyFields: true);

    private static void Validate(ConfigEntry entry, IReadOnlyList<ConfigEntry> existing, string datacenter, bool legacyFields)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentException.ThrowIfNullOrEmpty(datacenter);
        var e = Normalize(entry);
        switch (e)
        {
            case ServiceDefaultsEntry d: ValidateServiceDefaults(d); break;
            case ProxyDefaultsEntry p: ValidateProxyDefaults(p); break;
            case ServiceResolverEntry r: ValidateResolver(r); break;
            case ServiceSplitterEntry s: ValidateSplitter(s); break;
            case ServiceRouterEntry r: ValidateRouter(r); break;
            case ServiceIntentionsEntry i: ValidateIntentions(i, legacyFields); break;
        }
        new EntryGraph(existing, datacenter).CheckChange(e.Kind, e.Name, e);
    }

    /// <summary>Validates deleting the entry <paramref name="kind"/>/<paramref name="name"/> from <paramref name="existing"/>, in <see cref="DefaultDatacenter"/>.</summary>
    /// <exception cref="ConfigEntryException">The kind is unknown, or the graph without the entry is invalid.</exception>
    public static void ValidateDelete(string kind, string name, IReadOnlyList<ConfigEntry> existing) =>
        ValidateDelete(kind, name, existing, DefaultDatacenter);

    /// <summary>Validates deleting <paramref name="kind"/>/<paramref name="name"/>; target IDs in messages name <paramref name="datacenter"/>.</summary>
    /// <exception cref="ConfigEntryException">The kind is unknown, or the graph without the entry is invalid.</exception>
    public static void ValidateDelete(string kind, string name, IReadOnlyList<ConfigEntry> existing, string datacenter)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentException.ThrowIfNullOrEmpty(datacenter);
        if (!EntryKinds.All.Contains(kind)) throw Fail($"invalid config entry kind: {kind}");
        if (kind == EntryKinds.ProxyDefaults && name.Length > 0 && name != ProxyDefaultsEntry.GlobalName) throw GlobalOnly(name);
        new EntryGraph(existing, datacenter).CheckChange(kind, kind == EntryKinds.ProxyDefaults ? ProxyDefaultsEntry.GlobalName : name, null);
    }

    /// <summary>Whether L7 features (routers, splitters, L7 intentions) work over <paramref name="protocol"/>.</summary>
    public static bool IsHttpLike(string protocol) => protocol is "http" or "http2" or "grpc";

    /// <summary>
    /// A weight rounded to 0.01 (Consul keeps splits in units of 1/10000), halves away from zero as Go rounds. A weight
    /// outside 0-100 is left as written, for validation to report as written.
    /// </summary>
    internal static double RoundWeight(double weight) => weight is >= 0 and <= 100 ? ScaleWeight(weight) / 100.0 : weight;

    private static long ScaleWeight(double weight) => (long)Math.Round(weight * 100.0, MidpointRounding.AwayFromZero);

    private static void ValidateServiceDefaults(ServiceDefaultsEntry e)
    {
        RequireName(e);
        if (e.Name == "*") throw Fail("service-defaults name must be the name of a service, and not a wildcard");
        ValidateCommon(e);
        if (e.Protocol.Length > 0 && !Protocols.Contains(e.Protocol)) throw BadProtocol("Protocol", e.Protocol);
        if (e.BalanceInboundConnections is not ("" or "exact_balance"))
            throw Fail($"invalid value for balance_inbound_connections: {e.BalanceInboundConnections}");
        if (e.MaxInboundConnections < 0) throw Fail("MaxInboundConnections must be >= 0");
        if (e.LocalConnectTimeoutMs < 0) throw Fail("LocalConnectTimeoutMs must be >= 0");
        if (e.LocalRequestTimeoutMs < 0) throw Fail("LocalRequestTimeoutMs must be >= 0");
        ValidateMeshGateway(e.MeshGateway);
        ValidateMode(e.Mode);
    }

    private static void ValidateProxyDefaults(ProxyDefaultsEntry e)
    {
        if (e.Name != ProxyDefaultsEntry.GlobalName) throw GlobalOnly(e.Name);
        ValidateCommon(e);
        if (e.Config is { } config)
        {
            foreach (var (key, value) in config)
            {
                if (!key.Equals("protocol", StringComparison.OrdinalIgnoreCase)) continue;
                // The compiler reads Config["protocol"] as the default for every service without service-defaults,
                // so it must be a protocol the compiler knows.
                if (value.ValueKind != JsonValueKind.String) throw Fail("Config.protocol must be a string");
                var protocol = value.GetString()!.ToLowerInvariant();
                if (protocol.Length > 0 && !Protocols.Contains(protocol)) throw BadProtocol("Config.protocol", value.GetString()!);
            }
        }
        ValidateMeshGateway(e.MeshGateway);
        ValidateMode(e.Mode);
    }

    private static void ValidateMeshGateway(MeshGatewayConfig? gateway)
    {
        if (gateway is { Mode: not ("" or "none" or "local" or "remote") })
            throw Fail($"Invalid MeshGateway.Mode: \"{gateway.Mode}\" (must be one of \"\", \"none\", \"local\" or \"remote\")");
    }

    private static void ValidateMode(string mode)
    {
        if (mode is not ("" or "direct" or "transparent"))
            throw Fail($"Invalid Mode: \"{mode}\" (must be one of \"\", \"direct\" or \"transparent\")");
    }

    /// <summary>Name, namespace, partition and metadata: what every kind checks first.</summary>
    private static void ValidateCommon(ConfigEntry e)
    {
        Tenancy(e.Namespace, "Namespace");
        Tenancy(e.Partition, "Partition");
        if (e.Meta is not { } meta) return;
        if (meta.Count > MetaMaxKeyPairs) throw Fail($"Meta exceeds maximum element count {MetaMaxKeyPairs}");
        foreach (var (key, value) in meta.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (key.Length > MetaKeyMaxLength) throw Fail($"Meta key {Quote(key)} exceeds maximum length {MetaKeyMaxLength}");
            if (value.Length > MetaValueMaxLength) throw Fail($"Meta value for key {Quote(key)} exceeds maximum length {MetaValueMaxLength}");
        }
    }

    private static void RequireName(ConfigEntry e)
    {
        if (e.Name.Length == 0) throw Fail("Name is required");
    }

    /// <summary>
    /// Mesh has one namespace and one partition, both <c>default</c>: naming another would point at services that can
    /// never exist, so it is refused rather than stored.
    /// </summary>
    private static void Tenancy(string? value, string field)
    {
        if (!string.IsNullOrEmpty(value) && value != "default")
            throw Fail($"{field} {Quote(value)} is not supported: only the \"default\" namespace and partition exist");
    }

    private static ConfigEntryException BadProtocol(string field, string value) =>
        Fail($"invalid value for {field}: {Quote(value)} (must be one of {string.Join(", ", Protocols)})");

    private static ConfigEntryException GlobalOnly(string name) =>
        Fail($"invalid name ({Quote(name)}), only \"{ProxyDefaultsEntry.GlobalName}\" is supported");

    internal static ConfigEntryException Fail(string message) => new(message);

    /// <summary>A string quoted as Go's <c>%q</c> writes it, so messages match Consul's.</summary>
    internal static string Quote(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A duration as Go's <c>time.Duration.String</c> writes it (<c>-1s</c>, <c>1m30s</c>).</summary>
    internal static string GoDurationText(TimeSpan d) => Mesh.State.Text.GoDuration.Format(d);
}
