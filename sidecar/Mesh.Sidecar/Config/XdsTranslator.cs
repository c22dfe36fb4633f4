using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Mesh.Xds.Cache;

namespace Mesh.Sidecar.Config;

/// <summary>
/// Translates Mesh's xDS resources (listeners, clusters, load assignments, route configurations, secrets) into the
/// sidecar's immutable model. It accepts exactly the shapes the control plane emits and refuses anything else with a
/// message naming the resource and the field, which becomes the NACK's <c>error_detail</c>. A refused response
/// leaves <c>current</c> as it was.
/// </summary>
/// <remarks>
/// A resource whose bytes are the same as in the last accepted response of its type keeps its translated instance.
/// The data plane keys runtime state on those instances (a cluster's connection pool and load balancer, a secret's
/// TLS context), so an xDS push that changes one cluster does not reset every other cluster's pool, and an unchanged
/// certificate is not parsed again. One instance serves one ADS stream; <see cref="Apply"/> is not called concurrently.
/// </remarks>
internal sealed partial class XdsTranslator : IResourceTranslator
{
    /// <summary>Per type URL: each accepted resource's bytes and its translation.</summary>
    private readonly Dictionary<string, Dictionary<string, (ByteString Bytes, object Model)>> _accepted = new(StringComparer.Ordinal);

    /// <summary>The translations of the response being applied; committed to <see cref="_accepted"/> only on success.</summary>
    private Dictionary<string, (ByteString Bytes, object Model)>? _pending;

    /// <summary>
    /// The longest a configured regex may run on one value. Envoy uses RE2 (linear time); .NET's backtracking engine
    /// can blow up on hostile patterns, and a timeout turns that into a failed match instead of a stuck request.
    /// </summary>
    internal static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>Envoy's default connect timeout for a cluster that does not set one.</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Envoy's default route timeout for a route that does not set one.</summary>
    internal static readonly TimeSpan DefaultRouteTimeout = TimeSpan.FromSeconds(15);

    /// <inheritdoc />
    public SidecarState Apply(SidecarState current, string typeUrl, IReadOnlyList<Any> resources)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(typeUrl);
        ArgumentNullException.ThrowIfNull(resources);
        _pending = new Dictionary<string, (ByteString, object)>(resources.Count, StringComparer.Ordinal);
        var next = typeUrl switch
        {
            TypeUrls.Listener => current with { Listeners = Translate(resources, typeUrl, "listener", Envoy.Config.Listener.V3.Listener.Parser, l => l.Name, TranslateListener) },
            TypeUrls.Cluster => current with { Clusters = Translate(resources, typeUrl, "cluster", Envoy.Config.Cluster.V3.Cluster.Parser, c => c.Name, TranslateCluster) },
            TypeUrls.Endpoint => current with { Endpoints = Translate(resources, typeUrl, "cluster load assignment", Envoy.Config.Endpoint.V3.ClusterLoadAssignment.Parser, c => c.ClusterName, TranslateAssignment) },
            TypeUrls.Route => current with { Routes = Translate(resources, typeUrl, "route configuration", Envoy.Config.Route.V3.RouteConfiguration.Parser, r => r.Name, TranslateRouteConfiguration) },
            TypeUrls.Secret => ApplySecrets(current, resources),
            _ => throw new XdsConfigException($"type url \"{typeUrl}\" is not supported"),
        };
        _accepted[typeUrl] = _pending;
        _pending = null;
        return next;
    }

    /// <summary>
    /// Unpacks and translates every resource of one type, refusing a resource of another type, a resource without a
    /// name, and a name given twice (Envoy refuses duplicates too).
    /// </summary>
    private FrozenDictionary<string, TModel> Translate<TProto, TModel>(IReadOnlyList<Any> resources, string typeUrl, string kind,
        MessageParser<TProto> parser, Func<TProto, string> nameOf, Func<TProto, TModel> translate)
        where TProto : IMessage<TProto> where TModel : class
    {
        var result = new Dictionary<string, TModel>(resources.Count, StringComparer.Ordinal);
        _accepted.TryGetValue(typeUrl, out var previous);
        for (var i = 0; i < resources.Count; i++)
        {
            var proto = Unpack(resources[i], i, typeUrl, kind, parser);
            var name = nameOf(proto);
            if (name.Length == 0) throw new XdsConfigException($"{kind} resource {i}: the name is empty");
            if (result.ContainsKey(name)) throw new XdsConfigException($"{kind} \"{name}\": the response names it more than once");
            var bytes = resources[i].Value;
            if (previous is not null && previous.TryGetValue(name, out var last) && last.Bytes.Equals(bytes) && last.Model is TModel same)
            {
                result.Add(name, same);
                _pending![name] = last;
                continue;
            }

            try
            {
                var model = translate(proto);
                result.Add(name, model);
                _pending![name] = (bytes, model);
            }
            catch (FieldException e)
            {
                throw new XdsConfigException(e.Path.Length == 0 ? $"{kind} \"{name}\": {e.Message}" : $"{kind} \"{name}\": {e.Path}: {e.Message}");
            }
            catch (Exception e) when (e is not XdsConfigException)
            {
                // A value no check above foresaw must still become a NACK, never take the xDS client down.
                throw new XdsConfigException($"{kind} \"{name}\": cannot be translated: {e.Message}");
            }
        }
        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static TProto Unpack<TProto>(Any any, int index, string typeUrl, string kind, MessageParser<TProto> parser)
        where TProto : IMessage<TProto>
    {
        if (any is null) throw new XdsConfigException($"{kind} resource {index}: the resource is missing");
        if (!string.Equals(any.TypeUrl, typeUrl, StringComparison.Ordinal))
            throw new XdsConfigException($"{kind} resource {index}: type url \"{any.TypeUrl}\" does not match the response's \"{typeUrl}\"");
        try
        {
            return parser.ParseFrom(any.Value);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new XdsConfigException($"{kind} resource {index}: cannot be decoded: {e.Message}");
        }
    }

    /// <summary>A field that cannot be translated: <see cref="Path"/> says where, the message what is wrong.</summary>
    private sealed class FieldException(string path, string message) : Exception(message)
    {
        public string Path { get; } = path;
    }

    /// <summary>Builds the exception for a field; callers <c>throw</c> it so the compiler sees the flow end.</summary>
    private static FieldException Fail(string path, string what) => new(path, what);

    /// <summary>Joins two path segments with <c>": "</c>, skipping an empty one.</summary>
    private static string At(string path, string segment) => path.Length == 0 ? segment : $"{path}: {segment}";

    /// <summary>
    /// Unpacks a typed config of an expected message type; a config of another type, or one that does not decode, is an
    /// error naming <paramref name="what"/>.
    /// </summary>
    private static T UnpackTyped<T>(Any? any, MessageDescriptor descriptor, string path, string what) where T : IMessage, new()
    {
        if (any is null) throw Fail(path, $"{what} has no typed_config");
        if (!any.Is(descriptor)) throw Fail(path, $"{what}: typed_config \"{any.TypeUrl}\" is not a {descriptor.FullName}");
        try
        {
            return any.Unpack<T>();
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Fail(path, $"{what}: typed_config cannot be decoded: {e.Message}");
        }
    }

    /// <summary>The type url of an <c>Any</c> without its prefix (<c>type.googleapis.com/</c>).</summary>
    private static string TypeName(Any? any) => any is null ? "" : Any.GetTypeName(any.TypeUrl);

    /// <summary>
    /// A socket address as an endpoint: TCP, an IPv4 or IPv6 literal, a numeric port. Host names are refused because
    /// the sidecar does no DNS (Mesh always sends addresses).
    /// </summary>
    private static IPEndPoint SocketAddress(Address? address, string path, bool allowPortZero)
    {
        if (address is null) throw Fail(path, "address is missing");
        if (address.AddressCase != Address.AddressOneofCase.SocketAddress)
            throw Fail(path, address.AddressCase == Address.AddressOneofCase.None ? "address is missing" : $"address: {Snake(address.AddressCase.ToString())} addresses are not supported");
        var socket = address.SocketAddress;
        if (socket.Protocol != Envoy.Config.Core.V3.SocketAddress.Types.Protocol.Tcp) throw Fail(path, "address: only TCP is supported");
        if (socket.ResolverName.Length > 0) throw Fail(path, $"address: resolver_name \"{socket.ResolverName}\" is not supported");
        if (socket.PortSpecifierCase != Envoy.Config.Core.V3.SocketAddress.PortSpecifierOneofCase.PortValue && !(allowPortZero && socket.PortSpecifierCase == Envoy.Config.Core.V3.SocketAddress.PortSpecifierOneofCase.None))
            throw Fail(path, socket.PortSpecifierCase == Envoy.Config.Core.V3.SocketAddress.PortSpecifierOneofCase.NamedPort
                ? $"address: named_port \"{socket.NamedPort}\" is not supported" : "address: port_value is missing");
        var port = socket.PortValue;
        if (port > 65535 || (port == 0 && !allowPortZero)) throw Fail(path, $"address: port {port} is not between 1 and 65535");
        if (!IsIpLiteral(socket.Address, out var ip))
            throw Fail(path, $"address \"{socket.Address}\" is not an IP address (host names are not supported)");
        return new IPEndPoint(ip, (int)port);
    }

    /// <summary>
    /// Whether <paramref name="text"/> is a dotted-quad IPv4 or an IPv6 literal. <see cref="IPAddress.TryParse(string, out IPAddress)"/>
    /// alone also accepts forms such as <c>1</c> or <c>0x7f.1</c>, which Envoy refuses.
    /// </summary>
    private static bool IsIpLiteral(string text, out IPAddress ip)
    {
        ip = IPAddress.None;
        if (text.Length == 0 || !IPAddress.TryParse(text, out var parsed)) return false;
        if (parsed.AddressFamily == AddressFamily.InterNetwork)
        {
            var parts = text.Split('.');
            if (parts.Length != 4) return false;
            foreach (var part in parts)
                if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit)) return false;
        }
        else if (!text.Contains(':'))
        {
            return false;
        }
        ip = parsed;
        return true;
    }

    /// <summary>A protobuf duration as a <see cref="TimeSpan"/>; negative durations are errors.</summary>
    private static TimeSpan? Time(Duration? duration, string path, string field)
    {
        if (duration is null) return null;
        if (duration.Seconds < 0 || duration.Nanos < 0) throw Fail(path, $"{field} is negative");
        if (duration.Nanos > 999_999_999) throw Fail(path, $"{field}: nanos {duration.Nanos} is out of range");
        if (duration.Seconds > 315_576_000_000L) throw Fail(path, $"{field} is too large");
        return duration.ToTimeSpan();
    }

    /// <summary>
    /// The text of a data source that must be carried inline (<c>inline_string</c> or <c>inline_bytes</c>): the sidecar
    /// reads no files or environment on behalf of the control plane.
    /// </summary>
    private static string Inline(DataSource? source, string path, string field)
    {
        if (source is null) throw Fail(path, $"{field} is missing");
        return source.SpecifierCase switch
        {
            DataSource.SpecifierOneofCase.InlineString => source.InlineString,
            DataSource.SpecifierOneofCase.InlineBytes => Encoding.UTF8.GetString(source.InlineBytes.Span),
            DataSource.SpecifierOneofCase.None => throw Fail(path, $"{field} is empty"),
            _ => throw Fail(path, $"{field} must be inline (inline_string or inline_bytes), not {Snake(source.SpecifierCase.ToString())}"),
        };
    }

    /// <summary>An SDS reference: a name, delivered over ADS (the only source the sidecar has).</summary>
    private static string SdsName(SdsSecretConfig config, string path)
    {
        if (config.Name.Length == 0) throw Fail(path, "the SDS secret name is empty");
        CheckAds(config.SdsConfig, path, "sds_config");
        return config.Name;
    }

    /// <summary>A config source must be ADS (or unset, or <c>self</c>, which is the same stream for the sidecar).</summary>
    private static void CheckAds(ConfigSource? source, string path, string field)
    {
        if (source is null) return;
        if (source.ConfigSourceSpecifierCase is not (ConfigSource.ConfigSourceSpecifierOneofCase.Ads or ConfigSource.ConfigSourceSpecifierOneofCase.Self or ConfigSource.ConfigSourceSpecifierOneofCase.None))
            throw Fail(path, $"{field}: only ads is supported, not {Snake(source.ConfigSourceSpecifierCase.ToString())}");
    }

    /// <summary>
    /// The TLS versions a <c>tls_params</c> allows, within what the sidecar speaks (1.2 and 1.3). Unset bounds take
    /// TLS 1.2 as the floor and TLS 1.3 as the ceiling (Envoy's server defaults; the client side takes the same, so two
    /// sidecars meet at 1.3); a range that holds neither version is an error.
    /// </summary>
    private static SslProtocols Protocols(TlsParameters? parameters, string path)
    {
        var min = parameters?.TlsMinimumProtocolVersion ?? TlsParameters.Types.TlsProtocol.TlsAuto;
        var max = parameters?.TlsMaximumProtocolVersion ?? TlsParameters.Types.TlsProtocol.TlsAuto;
        var low = min == TlsParameters.Types.TlsProtocol.TlsAuto ? 12 : Version(min);
        var high = max == TlsParameters.Types.TlsProtocol.TlsAuto ? 13 : Version(max);
        if (low > high) throw Fail(path, "tls_params: tls_minimum_protocol_version is above tls_maximum_protocol_version");
        var protocols = SslProtocols.None;
        if (low <= 12 && high >= 12) protocols |= SslProtocols.Tls12;
        if (high >= 13) protocols |= SslProtocols.Tls13;
        if (protocols == SslProtocols.None) throw Fail(path, "tls_params: only TLS 1.2 and 1.3 are supported");
        if (parameters is { CipherSuites.Count: > 0 }) throw Fail(path, "tls_params: cipher_suites is not supported");
        if (parameters is { EcdhCurves.Count: > 0 }) throw Fail(path, "tls_params: ecdh_curves is not supported");
        return protocols;

        static int Version(TlsParameters.Types.TlsProtocol p) => p switch
        {
            TlsParameters.Types.TlsProtocol.Tlsv10 => 10,
            TlsParameters.Types.TlsProtocol.Tlsv11 => 11,
            TlsParameters.Types.TlsProtocol.Tlsv12 => 12,
            _ => 13,
        };
    }

    /// <summary>A generated C# name (<c>EnvironmentVariable</c>) in the proto's spelling (<c>environment_variable</c>).</summary>
    private static string Snake(string pascal)
    {
        var builder = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c))
            {
                if (i > 0) builder.Append('_');
                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    private static ImmutableArray<T> ToArray<T>(List<T> list) => [.. list];
}
