using Envoy.Extensions.TransportSockets.Tls.V3;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.SnapshotFixtures;

namespace Mesh.Xds.Tests.Resources;

/// <summary>The shared TLS contexts and the two SDS secrets they name.</summary>
public sealed class TlsAndSecretTests
{
    [Fact]
    public void Upstream_MatchesOnlyTheTargetsSpiffeId_AndTakesCertificatesFromSds()
    {
        var context = TlsContexts.Upstream("db.sni", "spiffe://td/ns/default/dc/dc1/svc/db");

        Assert.Equal("db.sni", context.Sni);
        var common = context.CommonTlsContext;
        Assert.Empty(common.TlsCertificates);
        var leaf = Assert.Single(common.TlsCertificateSdsSecretConfigs);
        Assert.Equal(Names.LeafSecret, leaf.Name);
        Assert.NotNull(leaf.SdsConfig.Ads);
        Assert.Equal(Envoy.Config.Core.V3.ApiVersion.V3, leaf.SdsConfig.ResourceApiVersion);
        var combined = common.CombinedValidationContext;
        Assert.Equal(Names.RootsSecret, combined.ValidationContextSdsSecretConfig.Name);
        var san = Assert.Single(combined.DefaultValidationContext.MatchTypedSubjectAltNames);
        Assert.Equal(SubjectAltNameMatcher.Types.SanType.Uri, san.SanType);
        Assert.Equal("spiffe://td/ns/default/dc/dc1/svc/db", san.Matcher.Exact);
        Assert.Equal(TlsParameters.Types.TlsProtocol.Tlsv12, common.TlsParams.TlsMinimumProtocolVersion);
    }

    [Fact]
    public void Upstream_EmptySni_Throws()
    {
        Assert.Throws<ArgumentException>(() => TlsContexts.Upstream("", "spiffe://x"));
        Assert.Throws<ArgumentException>(() => TlsContexts.Upstream("sni", ""));
    }

    [Fact]
    public void Downstream_RequiresAClientCertificate_ValidatedAgainstTheRootsSecret()
    {
        var context = TlsContexts.Downstream();

        Assert.True(context.RequireClientCertificate);
        Assert.Equal(Names.LeafSecret, Assert.Single(context.CommonTlsContext.TlsCertificateSdsSecretConfigs).Name);
        Assert.Equal(Names.RootsSecret, context.CommonTlsContext.ValidationContextSdsSecretConfig.Name);
    }

    [Fact]
    public void Socket_IsNamedTls_WithTheContextPacked()
    {
        var socket = TlsContexts.Socket(TlsContexts.Upstream("a", "spiffe://b"));

        Assert.Equal("tls", socket.Name);
        Assert.Equal("a", socket.TypedConfig.Unpack<UpstreamTlsContext>().Sni);
        Assert.True(TlsContexts.Socket(TlsContexts.Downstream()).TypedConfig.Is(DownstreamTlsContext.Descriptor));
    }

    [Fact]
    public void Secrets_Golden() => GoldenFiles.Assert("secrets-sidecar", SecretBuilder.Build(SidecarTcp()));

    [Fact]
    public void Secrets_Sidecar_LeafThenRoots_RootsConcatenatedOnePerLine()
    {
        var secrets = SecretBuilder.Build(SidecarTcp());

        Assert.Equal([Names.LeafSecret, Names.RootsSecret], secrets.Select(s => s.Name));
        Assert.Equal(LeafPem, secrets[0].TlsCertificate.CertificateChain.InlineString);
        Assert.Equal(LeafKeyPem, secrets[0].TlsCertificate.PrivateKey.InlineString);
        // The active root has no trailing newline in the fixture: the bundle must still separate the two.
        Assert.Equal(ActiveRootPem + "\n" + OldRootPem, secrets[1].ValidationContext.TrustedCa.InlineString);
    }

    [Fact]
    public void Secrets_Proxyless_None() => Assert.Empty(SecretBuilder.Build(Proxyless()));

    [Fact]
    public void Secrets_LeafOrRootsMissing_None()
    {
        Assert.Empty(SecretBuilder.Build(SidecarTcp() with { Leaf = null }));
        Assert.Empty(SecretBuilder.Build(SidecarTcp() with { Roots = [] }));
    }

    [Fact]
    public void Names_SpiffeIdAndFailoverCluster_FollowConsul()
    {
        Assert.Equal("spiffe://td.consul/ns/default/dc/dc2/svc/db", Names.ServiceSpiffeId("td.consul", "dc2", "db"));
        Assert.Equal("failover-target~1~db.sni", Names.FailoverCluster(1, "db.sni"));
        Assert.Equal("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", Names.SecretType);
        Assert.Equal(Names.EndpointType, "type.googleapis.com/" + Envoy.Config.Endpoint.V3.ClusterLoadAssignment.Descriptor.FullName);
        Assert.Equal(Names.RouteType, "type.googleapis.com/" + Envoy.Config.Route.V3.RouteConfiguration.Descriptor.FullName);
        Assert.Equal(Names.ListenerType, "type.googleapis.com/" + Envoy.Config.Listener.V3.Listener.Descriptor.FullName);
        Assert.Equal(Names.ClusterType, "type.googleapis.com/" + Envoy.Config.Cluster.V3.Cluster.Descriptor.FullName);
    }

    [Fact]
    public void AnyTypes_ResolveEveryTypedConfigTheBuildersPack()
    {
        Assert.NotNull(Names.AnyTypes.Find(UpstreamTlsContext.Descriptor.FullName));
        Assert.NotNull(Names.AnyTypes.Find(DownstreamTlsContext.Descriptor.FullName));
        Assert.NotNull(Names.AnyTypes.Find(Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.Descriptor.FullName));
        Assert.NotNull(Names.AnyTypes.Find(Envoy.Extensions.Clusters.Aggregate.V3.ClusterConfig.Descriptor.FullName));
    }

    [Fact]
    public void Bundle_EmptyRootPem_Skipped()
    {
        var bundle = SecretBuilder.Bundle([new RootCertificate("a", "  ", true), new RootCertificate("b", OldRootPem, false)]);
        Assert.Equal(OldRootPem, bundle);
    }
}
