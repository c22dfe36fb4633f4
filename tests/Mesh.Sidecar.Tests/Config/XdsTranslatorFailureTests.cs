using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Filter = Envoy.Config.Listener.V3.Filter;
using Envoy.Config.Rbac.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Sidecar.Config;
using Mesh.Xds.Cache;
using Mesh.Xds.Tests.Resources;
using Mesh.Xds.Tests.Resources.Listeners;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;

namespace Mesh.Sidecar.Tests.Config;

/// <summary>
/// Each construct the sidecar cannot honour is refused with a message naming the resource and the field, starting
/// from the control plane's real resources and changing one thing.
/// </summary>
public class XdsTranslatorFailureTests
{
    private const string PublicListener = "public_listener:10.0.0.5:21000";

    private static readonly ResourceSnapshot Tcp = TranslatorFixture.Build(ListenerFixtures.TcpSidecar());
    private static readonly ResourceSnapshot Http = TranslatorFixture.Build(ListenerFixtures.HttpSidecar());
    private static readonly ResourceSnapshot Routed = TranslatorFixture.Build(SnapshotFixtures.SidecarHttp());

    private static Listener TcpPublic() => TranslatorFixture.Decode<Listener>(Tcp, TypeUrls.Listener, PublicListener);

    private static Listener HttpPublic() => TranslatorFixture.Decode<Listener>(Http, TypeUrls.Listener, PublicListener);

    private static RouteConfiguration ApiRoutes() => TranslatorFixture.Decode<RouteConfiguration>(Routed, TypeUrls.Route, "api");

    private static Cluster DbCluster(out string name)
    {
        var resources = TranslatorFixture.Build(SnapshotFixtures.SidecarTcp());
        name = SnapshotFixtures.Sni("db.default.dc1");
        return TranslatorFixture.Decode<Cluster>(resources, TypeUrls.Cluster, name);
    }

    private static NetworkRbac NetworkRbacOf(Listener listener) => listener.FilterChains[0].Filters[0].TypedConfig.Unpack<NetworkRbac>();

    private static HttpConnectionManager HcmOf(Listener listener) => listener.FilterChains[0].Filters[^1].TypedConfig.Unpack<HttpConnectionManager>();

    private static void SetHcm(Listener listener, HttpConnectionManager hcm) => listener.FilterChains[0].Filters[^1].TypedConfig = Any.Pack(hcm);

    [Fact]
    public void Apply_UnknownNetworkFilter_NamesTheFilter()
    {
        var listener = TcpPublic();
        listener.FilterChains[0].Filters.Insert(1, new Filter
        {
            Name = "envoy.filters.network.mongo_proxy",
            TypedConfig = new Any { TypeUrl = "type.googleapis.com/envoy.extensions.filters.network.mongo_proxy.v3.MongoProxy" },
        });

        Assert.Equal($"listener \"{PublicListener}\": filter chain 0: filter \"envoy.filters.network.mongo_proxy\" is not supported",
            TranslatorFixture.Error(TypeUrls.Listener, listener));
    }

    [Fact]
    public void Apply_ListenerShapesMeshNeverSends_PreciseErrors()
    {
        var two = TcpPublic();
        two.FilterChains.Add(two.FilterChains[0].Clone());
        Assert.Equal($"listener \"{PublicListener}\": filter_chains: 2 filter chains; exactly one is supported", TranslatorFixture.Error(TypeUrls.Listener, two));

        var matched = TcpPublic();
        matched.FilterChains[0].FilterChainMatch = new FilterChainMatch { ServerNames = { "db" } };
        Assert.Equal($"listener \"{PublicListener}\": filter chain 0: filter_chain_match is not supported", TranslatorFixture.Error(TypeUrls.Listener, matched));

        var host = TcpPublic();
        host.Address.SocketAddress.Address = "db.example.com";
        Assert.Equal($"listener \"{PublicListener}\": address \"db.example.com\" is not an IP address (host names are not supported)",
            TranslatorFixture.Error(TypeUrls.Listener, host));

        var noTerminal = TcpPublic();
        noTerminal.FilterChains[0].Filters.RemoveAt(1);
        Assert.Contains("filter chain 0: the chain has no terminal filter", TranslatorFixture.Error(TypeUrls.Listener, noTerminal));
    }

    [Fact]
    public void Apply_InlineCertificateInListenerTls_MustComeFromSds()
    {
        var listener = TcpPublic();
        var context = listener.FilterChains[0].TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
        context.CommonTlsContext.TlsCertificateSdsSecretConfigs.Clear();
        context.CommonTlsContext.TlsCertificates.Add(new TlsCertificate { CertificateChain = new DataSource { InlineString = "x" } });
        listener.FilterChains[0].TransportSocket.TypedConfig = Any.Pack(context);

        Assert.Equal($"listener \"{PublicListener}\": filter chain 0: transport_socket: tls_certificates: the certificate must come from SDS",
            TranslatorFixture.Error(TypeUrls.Listener, listener));
    }

    [Fact]
    public void Apply_RbacConstructsOutsideTheSubset_NameTheField()
    {
        var log = TcpPublic();
        var rbac = NetworkRbacOf(log);
        rbac.Rules.Action = RBAC.Types.Action.Log;
        log.FilterChains[0].Filters[0].TypedConfig = Any.Pack(rbac);
        Assert.Equal($"listener \"{PublicListener}\": filter chain 0: filter \"envoy.filters.network.rbac\": rules: action LOG is not supported (ALLOW or DENY)",
            TranslatorFixture.Error(TypeUrls.Listener, log));

        var port = TcpPublic();
        rbac = NetworkRbacOf(port);
        rbac.Rules.Policies["consul-intentions-layer4"].Permissions[0] = new Permission { DestinationPort = 80 };
        port.FilterChains[0].Filters[0].TypedConfig = Any.Pack(rbac);
        Assert.Equal($"listener \"{PublicListener}\": filter chain 0: filter \"envoy.filters.network.rbac\": rules: policy \"consul-intentions-layer4\": permission 0: destination_port is not supported",
            TranslatorFixture.Error(TypeUrls.Listener, port));

        var regex = TcpPublic();
        rbac = NetworkRbacOf(regex);
        rbac.Rules.Policies["consul-intentions-layer4"].Principals[0] = new Principal
        {
            Authenticated = new Principal.Types.Authenticated { PrincipalName = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "spiffe://(" } } },
        };
        regex.FilterChains[0].Filters[0].TypedConfig = Any.Pack(rbac);
        Assert.StartsWith($"listener \"{PublicListener}\": filter chain 0: filter \"envoy.filters.network.rbac\": rules: policy \"consul-intentions-layer4\": principal 0: authenticated: principal_name: safe_regex \"spiffe://(\" is not a valid regex",
            TranslatorFixture.Error(TypeUrls.Listener, regex));

        var ip = TcpPublic();
        rbac = NetworkRbacOf(ip);
        rbac.Rules.Policies["consul-intentions-layer4"].Principals[0] = new Principal { DirectRemoteIp = new CidrRange { AddressPrefix = "10.0.0.0", PrefixLen = 8 } };
        ip.FilterChains[0].Filters[0].TypedConfig = Any.Pack(rbac);
        Assert.EndsWith("principal 0: direct_remote_ip is not supported", TranslatorFixture.Error(TypeUrls.Listener, ip));
    }

    [Fact]
    public void Apply_TlsVersionBounds_MappedToSslProtocolsOrRefused()
    {
        static Listener WithParams(TlsParameters parameters)
        {
            var listener = TcpPublic();
            var context = listener.FilterChains[0].TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
            context.CommonTlsContext.TlsParams = parameters;
            listener.FilterChains[0].TransportSocket.TypedConfig = Any.Pack(context);
            return listener;
        }

        var only13 = WithParams(new TlsParameters { TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv13 });
        var tls = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Listener, [Any.Pack(only13)]).Listeners[PublicListener].Tls!;
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, tls.Protocols);

        var old = WithParams(new TlsParameters { TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv10, TlsMaximumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv11 });
        Assert.Equal($"listener \"{PublicListener}\": filter chain 0: transport_socket: tls_params: only TLS 1.2 and 1.3 are supported",
            TranslatorFixture.Error(TypeUrls.Listener, old));
    }

    [Fact]
    public void Apply_TcpProxyWeightedWithIdleTimeout_Translated()
    {
        var listener = TcpPublic();
        var proxy = listener.FilterChains[0].Filters[1].TypedConfig.Unpack<Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy>();
        proxy.WeightedClusters = new Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy.Types.WeightedCluster
        {
            Clusters =
            {
                new Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy.Types.WeightedCluster.Types.ClusterWeight { Name = "a", Weight = 1 },
                new Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy.Types.WeightedCluster.Types.ClusterWeight { Name = "b", Weight = 3 },
            },
        };
        proxy.IdleTimeout = new Duration();
        listener.FilterChains[0].Filters[1].TypedConfig = Any.Pack(proxy);

        var tcp = (TcpProxyConfig)new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Listener, [Any.Pack(listener)]).Listeners[PublicListener].App;

        Assert.Null(tcp.Cluster);
        Assert.Equal(4, tcp.WeightedClusters!.TotalWeight);
        Assert.Equal(["a", "b"], tcp.WeightedClusters.Clusters.Select(c => c.Name));
        Assert.Equal(TimeSpan.Zero, tcp.IdleTimeout);
    }

    [Fact]
    public void Apply_RbacWithoutRules_EnforcesNothing()
    {
        var listener = TcpPublic();
        var rbac = NetworkRbacOf(listener);
        rbac.Rules = null;
        listener.FilterChains[0].Filters[0].TypedConfig = Any.Pack(rbac);

        var state = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Listener, [Any.Pack(listener)]);

        Assert.Null(state.Listeners[PublicListener].NetworkRbac);
    }

    [Fact]
    public void Apply_UnknownHttpFilterOrRouterNotLast_NamesTheFilter()
    {
        var lua = HttpPublic();
        var hcm = HcmOf(lua);
        hcm.HttpFilters.Insert(1, new HttpFilter { Name = "envoy.filters.http.lua", TypedConfig = new Any { TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua" } });
        SetHcm(lua, hcm);
        Assert.Equal($"listener \"{PublicListener}\": filter chain 0: filter \"envoy.filters.network.http_connection_manager\": http filter \"envoy.filters.http.lua\" is not supported",
            TranslatorFixture.Error(TypeUrls.Listener, lua));

        var optional = HttpPublic();
        hcm = HcmOf(optional);
        hcm.HttpFilters.Insert(1, new HttpFilter { Name = "envoy.filters.http.lua", IsOptional = true, TypedConfig = new Any { TypeUrl = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua" } });
        SetHcm(optional, hcm);
        Assert.NotNull(new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Listener, [Any.Pack(optional)]).Listeners[PublicListener]);

        var noRouter = HttpPublic();
        hcm = HcmOf(noRouter);
        hcm.HttpFilters.RemoveAt(hcm.HttpFilters.Count - 1);
        SetHcm(noRouter, hcm);
        Assert.EndsWith("http_filters must end with envoy.filters.http.router", TranslatorFixture.Error(TypeUrls.Listener, noRouter));

        var scoped = HttpPublic();
        hcm = HcmOf(scoped);
        hcm.ScopedRoutes = new ScopedRoutes { Name = "s" };
        SetHcm(scoped, hcm);
        Assert.EndsWith("filter \"envoy.filters.network.http_connection_manager\": scoped_routes is not supported", TranslatorFixture.Error(TypeUrls.Listener, scoped));
    }

    [Fact]
    public void Apply_HttpRbacWithoutRules_IsNoFilterButEmptyAllowDeniesAll()
    {
        var unset = HttpPublic();
        var hcm = HcmOf(unset);
        hcm.HttpFilters[0].TypedConfig = Any.Pack(new HttpRbac());
        SetHcm(unset, hcm);
        var allowEmpty = HttpPublic();
        hcm = HcmOf(allowEmpty);
        hcm.HttpFilters[0].TypedConfig = Any.Pack(new HttpRbac { Rules = new RBAC { Action = RBAC.Types.Action.Allow } });
        SetHcm(allowEmpty, hcm);

        var none = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Listener, [Any.Pack(unset)]);
        var empty = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Listener, [Any.Pack(allowEmpty)]);

        Assert.Null(((HttpConnectionManagerConfig)none.Listeners[PublicListener].App).HttpRbac);
        var rules = ((HttpConnectionManagerConfig)empty.Listeners[PublicListener].App).HttpRbac!;
        Assert.Equal(RbacAction.Allow, rules.Action);
        Assert.Empty(rules.Policies);
    }

    [Fact]
    public void Apply_RouteActionsMeshNeverSends_PreciseErrors()
    {
        var redirect = ApiRoutes();
        redirect.VirtualHosts[0].Routes[0].Redirect = new RedirectAction { HostRedirect = "example.com" };
        Assert.Equal("route configuration \"api\": virtual host \"api\": route 0: redirect actions are not supported",
            TranslatorFixture.Error(TypeUrls.Route, redirect));

        var header = ApiRoutes();
        header.VirtualHosts[0].Routes[0].Route_.ClusterHeader = "x-cluster";
        Assert.Equal("route configuration \"api\": virtual host \"api\": route 0: route: cluster_header is not supported",
            TranslatorFixture.Error(TypeUrls.Route, header));

        var zero = ApiRoutes();
        foreach (var cluster in zero.VirtualHosts[0].Routes[3].Route_.WeightedClusters.Clusters) cluster.Weight = 0;
        Assert.Equal("route configuration \"api\": virtual host \"api\": route 3: route: weighted_clusters: the weights add up to zero",
            TranslatorFixture.Error(TypeUrls.Route, zero));

        var retry = ApiRoutes();
        retry.VirtualHosts[0].Routes[1].Route_.RetryPolicy.RetryOn = "connect-failure,envoy-ratelimited";
        Assert.Equal("route configuration \"api\": virtual host \"api\": route 1: route: retry_policy: retry_on condition \"envoy-ratelimited\" is not supported",
            TranslatorFixture.Error(TypeUrls.Route, retry));

        var regex = ApiRoutes();
        regex.VirtualHosts[0].Routes[2].Match.SafeRegex.Regex = "/items/[0-9";
        Assert.StartsWith("route configuration \"api\": virtual host \"api\": route 2: match: safe_regex \"/items/[0-9\" is not a valid regex",
            TranslatorFixture.Error(TypeUrls.Route, regex));

        var onlyAbsent = ApiRoutes();
        onlyAbsent.VirtualHosts[0].Routes[1].RequestHeadersToAdd[0].AppendAction = HeaderValueOption.Types.HeaderAppendAction.AddIfAbsent;
        Assert.Equal("route configuration \"api\": virtual host \"api\": route 1: request_headers_to_add: header \"x-route\": append_action ADD_IF_ABSENT is not supported",
            TranslatorFixture.Error(TypeUrls.Route, onlyAbsent));
    }

    [Fact]
    public void Apply_VirtualHostHeadersAndRetryDefaults_MergedIntoEachRoute()
    {
        var routes = ApiRoutes();
        var host = routes.VirtualHosts[0];
#pragma warning disable CS0612 // The deprecated append, which the translator still honours.
        host.RequestHeadersToAdd.Add(new HeaderValueOption { Header = new HeaderValue { Key = "X-Mesh", Value = "1" }, Append = false });
#pragma warning restore CS0612
        host.ResponseHeadersToRemove.Add("Server");
        host.Routes[1].Route_.RetryPolicy.NumRetries = null;
        host.Routes[1].Route_.RetryPolicy.RetryOn = "5xx, gateway-error ,refused-stream";
        host.Routes[0].Route_.Timeout = new Duration();

        var state = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Route, [Any.Pack(routes)]);

        var translated = state.Routes["api"].VirtualHosts[0].Routes;
        Assert.Equal(new HeaderToAdd("x-route", "v2", true), translated[1].RequestHeaders.Add[0]);
        Assert.Equal(new HeaderToAdd("x-mesh", "1", false), translated[1].RequestHeaders.Add[1]);
        Assert.All(translated, r => Assert.Contains("server", r.ResponseHeaders.Remove));
        var retry = translated[1].Action.Retry!;
        Assert.Equal(1, retry.NumRetries);
        Assert.True(retry.On5xx && retry.OnGatewayError && retry.OnReset);
        Assert.False(retry.OnConnectFailure);
        Assert.Equal(TimeSpan.Zero, translated[0].Action.Timeout);
    }

    [Fact]
    public void Apply_ClusterShapesMeshNeverSends_PreciseErrors()
    {
        var dns = DbCluster(out var name);
        dns.Type = Cluster.Types.DiscoveryType.StrictDns;
        Assert.Equal($"cluster \"{name}\": type: DNS clusters are not supported", TranslatorFixture.Error(TypeUrls.Cluster, dns));

        var provided = DbCluster(out _);
        provided.LbPolicy = Cluster.Types.LbPolicy.ClusterProvided;
        Assert.Equal($"cluster \"{name}\": lb_policy: CLUSTER_PROVIDED is only for aggregate clusters", TranslatorFixture.Error(TypeUrls.Cluster, provided));

        var custom = DbCluster(out _);
        custom.ClusterType = new Cluster.Types.CustomClusterType { Name = "envoy.clusters.redis" };
        Assert.Equal($"cluster \"{name}\": cluster_type: custom cluster type \"envoy.clusters.redis\" is not supported", TranslatorFixture.Error(TypeUrls.Cluster, custom));

        var san = DbCluster(out _);
        var tls = san.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        tls.CommonTlsContext.CombinedValidationContext.DefaultValidationContext.MatchTypedSubjectAltNames[0].SanType = SubjectAltNameMatcher.Types.SanType.Dns;
        san.TransportSocket.TypedConfig = Any.Pack(tls);
        Assert.Equal($"cluster \"{name}\": transport_socket: combined_validation_context: default_validation_context: match_typed_subject_alt_names: SAN type DNS is not supported (URI)",
            TranslatorFixture.Error(TypeUrls.Cluster, san));
    }

    [Fact]
    public void Apply_LegacyClusterFields_StillUnderstood()
    {
        var cluster = DbCluster(out var name);
        var tls = cluster.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        var validation = tls.CommonTlsContext.CombinedValidationContext.DefaultValidationContext;
        validation.MatchTypedSubjectAltNames.Clear();
#pragma warning disable CS0612
        validation.MatchSubjectAltNames.Add(new StringMatcher { Exact = "spiffe://t/ns/default/dc/dc1/svc/db" });
        cluster.Http2ProtocolOptions = new Http2ProtocolOptions();
#pragma warning restore CS0612
        cluster.TransportSocket.TypedConfig = Any.Pack(tls);
        cluster.LbPolicy = Cluster.Types.LbPolicy.LeastRequest;
        cluster.LeastRequestLbConfig = new Cluster.Types.LeastRequestLbConfig { ChoiceCount = 3 };

        var translated = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Cluster, [Any.Pack(cluster)]).Clusters[name];

        Assert.Equal<string>(["spiffe://t/ns/default/dc/dc1/svc/db"], translated.Tls!.ExpectedUriSans);
        Assert.Equal(UpstreamProtocol.Http2, translated.Protocol);
        Assert.Equal((LbPolicy.LeastRequest, 3), (translated.LbPolicy, translated.LeastRequestChoiceCount));
    }

    [Fact]
    public void Apply_EndpointsMeshNeverSends_PreciseErrors()
    {
        var named = new ClusterLoadAssignment
        {
            ClusterName = "db",
            Endpoints = { new LocalityLbEndpoints { LbEndpoints = { new LbEndpoint { EndpointName = "named" } } } },
        };
        Assert.Equal("cluster load assignment \"db\": locality 0: endpoint 0: endpoint_name is not supported", TranslatorFixture.Error(TypeUrls.Endpoint, named));

        var host = new ClusterLoadAssignment
        {
            ClusterName = "db",
            Endpoints =
            {
                new LocalityLbEndpoints
                {
                    Priority = 1,
                    LbEndpoints = { new LbEndpoint { Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "db.internal", PortValue = 5432 } } } } },
                },
            },
        };
        Assert.Equal("cluster load assignment \"db\": locality 0: endpoint 0: address \"db.internal\" is not an IP address (host names are not supported)",
            TranslatorFixture.Error(TypeUrls.Endpoint, host));

        host.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.Address = "::1";
        host.Endpoints[0].LbEndpoints[0].HealthStatus = HealthStatus.Draining;
        var endpoint = Assert.Single(new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Endpoint, [Any.Pack(host)]).Endpoints["db"].Endpoints);
        Assert.Equal((System.Net.IPAddress.IPv6Loopback, 5432, EndpointHealth.Draining, 1, 1), (endpoint.Address.Address, endpoint.Address.Port, endpoint.Health, endpoint.Weight, endpoint.Priority));
        Assert.False(endpoint.IsServing);
    }

    [Fact]
    public void Apply_ResponseLevelProblems_PreciseErrors()
    {
        var listener = TcpPublic();
        Assert.Equal($"listener \"{PublicListener}\": the response names it more than once", TranslatorFixture.Error(TypeUrls.Listener, listener, listener));

        var wrongType = Assert.Throws<XdsConfigException>(() =>
            new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Listener, [Any.Pack(new Cluster { Name = "c" })]));
        Assert.Equal($"listener resource 0: type url \"{TypeUrls.Cluster}\" does not match the response's \"{TypeUrls.Listener}\"", wrongType.Message);

        var unknownType = Assert.Throws<XdsConfigException>(() =>
            new XdsTranslator().Apply(SidecarState.Empty, "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", []));
        Assert.Equal("type url \"type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig\" is not supported", unknownType.Message);

        var garbage = Assert.Throws<XdsConfigException>(() =>
            new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Cluster, [new Any { TypeUrl = TypeUrls.Cluster, Value = ByteString.CopyFrom(0xff, 0xff, 0xff) }]));
        Assert.StartsWith("cluster resource 0: cannot be decoded", garbage.Message);
    }

    [Fact]
    public void Apply_OneBadListenerAmongGood_RefusedAndPreviousStateStands()
    {
        var translator = new XdsTranslator();
        var good = translator.Apply(SidecarState.Empty, TypeUrls.Listener, TranslatorFixture.Of(Tcp, TypeUrls.Listener));
        var bad = TcpPublic();
        bad.Name = "bad:127.0.0.1:1";
        bad.TrafficDirection = Envoy.Config.Core.V3.TrafficDirection.Unspecified;
        var response = TranslatorFixture.Of(Http, TypeUrls.Listener);
        response.Add(Any.Pack(bad));

        var error = Assert.Throws<XdsConfigException>(() => translator.Apply(good, TypeUrls.Listener, response));

        Assert.Equal("listener \"bad:127.0.0.1:1\": traffic_direction: must be INBOUND or OUTBOUND", error.Message);
        Assert.Equal(["counting:127.0.0.1:5000", PublicListener], good.Listeners.Keys.Order(StringComparer.Ordinal));
        Assert.IsType<TcpProxyConfig>(good.Listeners[PublicListener].App);
    }

    [Fact]
    public void Apply_UpstreamTlsWithInlineSansButNoTrust_IsRefused()
    {
        var cluster = DbCluster(out var name);
        var tls = cluster.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        var sans = tls.CommonTlsContext.CombinedValidationContext.DefaultValidationContext;
        tls.CommonTlsContext.ValidationContext = sans;
        cluster.TransportSocket.TypedConfig = Any.Pack(tls);

        var error = TranslatorFixture.Error(TypeUrls.Cluster, cluster);

        Assert.StartsWith($"cluster \"{name}\": ", error);
        Assert.Contains("no trust bundle", error);
    }

    [Fact]
    public void Apply_UpstreamTlsWithoutValidation_IsRefused()
    {
        var cluster = DbCluster(out _);
        var tls = cluster.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        tls.CommonTlsContext.CombinedValidationContext = null;
        cluster.TransportSocket.TypedConfig = Any.Pack(tls);

        Assert.Contains("could not be verified", TranslatorFixture.Error(TypeUrls.Cluster, cluster));
    }

    [Fact]
    public void Apply_SameResourceAgain_KeepsItsTranslation_AndAChangedOneGetsANewOne()
    {
        var translator = new XdsTranslator();
        var db = DbCluster(out var name);
        var first = translator.Apply(SidecarState.Empty, TypeUrls.Cluster, [Any.Pack(db)]);
        var again = translator.Apply(first, TypeUrls.Cluster, [Any.Pack(db)]);
        Assert.Same(first.Clusters[name], again.Clusters[name]);

        // A refused response commits nothing: the next good one still reuses the accepted instance.
        Assert.Throws<XdsConfigException>(() => translator.Apply(again, TypeUrls.Cluster, [Any.Pack(db), Any.Pack(db)]));
        var changed = db.Clone();
        changed.ConnectTimeout = new Duration { Seconds = 7 };
        var next = translator.Apply(again, TypeUrls.Cluster, [Any.Pack(changed)]);
        Assert.NotSame(first.Clusters[name], next.Clusters[name]);
        Assert.Equal(TimeSpan.FromSeconds(7), next.Clusters[name].ConnectTimeout);
        Assert.Same(next.Clusters[name], translator.Apply(next, TypeUrls.Cluster, [Any.Pack(changed)]).Clusters[name]);
    }

    [Fact]
    public void Apply_SanitizeSetClientCertDetails_IsRefusedNotRunAsAppend()
    {
        var listener = HttpPublic();
        var hcm = HcmOf(listener);
        hcm.ForwardClientCertDetails = HttpConnectionManager.Types.ForwardClientCertDetails.SanitizeSet;
        SetHcm(listener, hcm);

        var error = TranslatorFixture.Error(TypeUrls.Listener, listener);

        Assert.StartsWith($"listener \"{PublicListener}\": ", error);
        Assert.Contains("forward_client_cert_details: SANITIZE_SET is not supported", error);
    }
}
