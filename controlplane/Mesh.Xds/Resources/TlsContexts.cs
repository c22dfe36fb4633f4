using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Xds.Resources;

/// <summary>
/// The TLS pieces every builder shares, in one place. Certificates are never inlined: each context names the two SDS
/// secrets (<see cref="Names.LeafSecret"/>, <see cref="Names.RootsSecret"/>) delivered over the same ADS stream, so a
/// leaf rotation or a new root streams one <c>Secret</c> instead of re-sending every listener and cluster.
/// </summary>
internal static class TlsContexts
{
    /// <summary>Where SDS secrets come from: the ADS stream itself, v3 resources.</summary>
    public static ConfigSource AdsSource() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    /// <summary>A reference to the SDS secret <paramref name="name"/> over ADS.</summary>
    public static SdsSecretConfig Sds(string name) => new() { Name = name, SdsConfig = AdsSource() };

    /// <summary>
    /// The client side of mesh mTLS towards one upstream target: present the leaf, ask for <paramref name="sni"/>, and
    /// accept only a certificate signed by a trusted root whose URI SAN is exactly <paramref name="spiffeId"/> — a
    /// certificate of any other service, however valid, is refused.
    /// </summary>
    public static UpstreamTlsContext Upstream(string sni, string spiffeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sni);
        ArgumentException.ThrowIfNullOrEmpty(spiffeId);
        var common = Common();
        var validation = new CertificateValidationContext();
        validation.MatchTypedSubjectAltNames.Add(new SubjectAltNameMatcher
        {
            SanType = SubjectAltNameMatcher.Types.SanType.Uri,
            Matcher = new StringMatcher { Exact = spiffeId },
        });
        // The combined context merges the static SAN match with the SDS-delivered trust bundle, so the roots can rotate
        // without the cluster changing.
        common.CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
        {
            DefaultValidationContext = validation,
            ValidationContextSdsSecretConfig = Sds(Names.RootsSecret),
        };
        return new UpstreamTlsContext { Sni = sni, CommonTlsContext = common };
    }

    /// <summary>
    /// The server side of mesh mTLS (the public listener): present the leaf and require a client certificate signed by
    /// a trusted root. Which client may connect is the RBAC filter's decision, not the handshake's.
    /// </summary>
    /// <param name="alpn">Protocols to offer by ALPN (<c>h2</c>, <c>http/1.1</c>), in order of preference; none for TCP.</param>
    public static DownstreamTlsContext Downstream(params string[] alpn)
    {
        var common = Common();
        common.ValidationContextSdsSecretConfig = Sds(Names.RootsSecret);
        common.AlpnProtocols.AddRange(alpn);
        return new DownstreamTlsContext { RequireClientCertificate = true, CommonTlsContext = common };
    }

    /// <summary>Wraps a TLS context as the transport socket Envoy expects (<c>tls</c>, typed config in an <c>Any</c>).</summary>
    public static TransportSocket Socket(UpstreamTlsContext context) =>
        new() { Name = Names.TlsTransportSocket, TypedConfig = Any.Pack(context) };

    /// <summary>Wraps a TLS context as the transport socket Envoy expects (<c>tls</c>, typed config in an <c>Any</c>).</summary>
    public static TransportSocket Socket(DownstreamTlsContext context) =>
        new() { Name = Names.TlsTransportSocket, TypedConfig = Any.Pack(context) };

    /// <summary>The leaf from SDS and TLS 1.2 as the floor (what Consul's mesh TLS defaults to).</summary>
    private static CommonTlsContext Common()
    {
        var common = new CommonTlsContext
        {
            TlsParams = new TlsParameters { TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv12 },
        };
        common.TlsCertificateSdsSecretConfigs.Add(Sds(Names.LeafSecret));
        return common;
    }
}
