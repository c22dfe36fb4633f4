using System.Collections.Immutable;
using System.Net.Security;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Xds.Cache;
using Mesh.Xds.Grpc;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Xds;

/// <summary>How the xDS client reaches the agent and who it says it is.</summary>
/// <param name="Address">The agent's gRPC address: <c>http://host:port</c> (h2c) or <c>https://host:port</c> (TLS).</param>
/// <param name="NodeId">The node id: the proxy's service ID, which the agent matches to its registration.</param>
/// <param name="NodeCluster">The node cluster: the proxy's service name.</param>
internal sealed record AdsClientOptions(Uri Address, string NodeId, string NodeCluster)
{
    /// <summary>The ACL token, sent as <c>x-consul-token</c>; null: none.</summary>
    public string? Token { get; init; }

    /// <summary>For an <c>https</c> address: the CAs that verify the agent's certificate; null: the system trust store.</summary>
    public X509Certificate2Collection? CaCertificates { get; init; }

    /// <summary>The first reconnect delay; it doubles per failed attempt up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest reconnect delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The proxy's xDS client: one state-of-the-world ADS stream to the local agent. CDS and LDS are subscribed as
/// wildcards; EDS, RDS and SDS with exactly the names the accepted state needs, re-subscribed whenever those change.
/// Each response is translated whole; an accepted one is published to the <see cref="StateHolder"/> and ACKed, a
/// rejected one NACKed with the translator's message while the previous configuration of that type stays in force.
/// A broken stream is reopened with exponential back-off and jitter, for as long as the client runs, and the data
/// plane keeps serving the last good state meanwhile; the new stream carries the last accepted versions.
/// </summary>
internal sealed partial class AdsClient : IDisposable
{
    /// <summary>The state-of-the-world ADS method.</summary>
    public const string StreamMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

    /// <summary>The user agent the node reports; deliberately not "envoy" (the agent knows a registered sidecar by its id).</summary>
    public const string UserAgentName = "mesh-sidecar";

    /// <summary>gRPC's INVALID_ARGUMENT, the code a NACK carries.</summary>
    private const int InvalidArgument = 3;

    /// <summary>The types subscribed by name, in the order their names are checked after a response.</summary>
    private static readonly string[] NamedTypes = [TypeUrls.Secret, TypeUrls.Endpoint, TypeUrls.Route];

    private readonly AdsClientOptions _options;
    private readonly IResourceTranslator _translator;
    private readonly StateHolder _state;
    private readonly SidecarMetrics _metrics;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private readonly Node _node;

    // Touched only by the one loop in RunAsync, so no locks; Accepted is read by other threads through a snapshot.
    private readonly Dictionary<string, TypeProgress> _types = new(StringComparer.Ordinal);
    private ImmutableHashSet<string> _acceptedTypes = ImmutableHashSet<string>.Empty;
    private long _streams;

    /// <summary>Creates the client; nothing is sent until <see cref="RunAsync"/>.</summary>
    public AdsClient(AdsClientOptions options, IResourceTranslator translator, StateHolder state, SidecarMetrics metrics, ILogger<AdsClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(translator);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        if (string.IsNullOrEmpty(options.NodeId)) throw new ArgumentException("the node id (proxy service ID) is required", nameof(options));
        if (options.InitialBackoff <= TimeSpan.Zero || options.MaxBackoff < options.InitialBackoff)
            throw new ArgumentException("back-off must be positive and the maximum at least the initial delay", nameof(options));
        _options = options;
        _translator = translator;
        _state = state;
        _metrics = metrics;
        _logger = logger;
        _channel = new GrpcChannel(options.Address, new GrpcChannelOptions
        {
            // Consul's xDS answers can be large for a proxy with many upstreams; Envoy accepts far more than 4 MiB too.
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            // Pings find an agent that vanished without closing the connection (a killed VM), well before TCP would.
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ServerCertificateValidation = options.CaCertificates is { Count: > 0 } cas ? (_, certificate, chain, errors) => Verify(cas, certificate, errors) : null,
        });
        var version = typeof(AdsClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.1.0";
        _node = new Node
        {
            Id = options.NodeId,
            Cluster = options.NodeCluster,
            UserAgentName = UserAgentName,
            UserAgentVersion = version,
        };
    }

    /// <summary>The types accepted at least once (ever, across streams): the data plane has a configuration of each.</summary>
    public ImmutableHashSet<string> AcceptedTypes => Volatile.Read(ref _acceptedTypes);

    /// <summary>Streams opened so far (the first one and every reconnect).</summary>
    public long StreamsOpened => Interlocked.Read(ref _streams);

    /// <summary>
    /// Runs streams until <paramref name="cancellationToken"/> is cancelled; never fails otherwise. Returns once
    /// cancelled, with the stream closed.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = _options.InitialBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            var healthy = false;
            try
            {
                healthy = await RunStreamAsync(cancellationToken).ConfigureAwait(false);
                LogStreamEnded(_logger, _options.Address, "the agent ended the stream");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Whatever broke the stream (agent gone, restarted, refused the call), the answer is the same: keep
                // the last good state and try again later.
                LogStreamFailed(_logger, _options.Address, ex.Message);
            }
            finally
            {
                _metrics.XdsConnected.With().Set(0);
            }

            // A stream that delivered configuration was healthy: the next failure starts the back-off afresh.
            if (healthy) backoff = _options.InitialBackoff;
            var delay = Jitter(backoff);
            LogReconnecting(_logger, _options.Address, (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(_options.MaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    /// <summary>Disposes the gRPC channel.</summary>
    public void Dispose() => _channel.Dispose();

    /// <summary>One stream: subscribe, then answer responses until it ends. Returns whether a response arrived.</summary>
    private async Task<bool> RunStreamAsync(CancellationToken cancellationToken)
    {
        var headers = new GrpcMetadata();
        if (!string.IsNullOrEmpty(_options.Token)) headers.Add("x-consul-token", _options.Token);
        await using var call = _channel.StartDuplex<DiscoveryRequest, DiscoveryResponse>(StreamMethod, DiscoveryResponse.Parser,
            new GrpcCallOptions { Headers = headers, CancellationToken = cancellationToken });
        Interlocked.Increment(ref _streams);
        LogConnecting(_logger, _options.Address, _options.NodeId);

        // Nonces belong to a stream: a new stream starts without them but with the versions accepted before, so the
        // agent knows what the proxy runs (it sends the current resources either way).
        foreach (var progress in _types.Values) progress.Nonce = "";

        // CDS before LDS, as Envoy: listeners refer to clusters. Then whatever names the kept state already needs.
        await SendAsync(call, Request(TypeUrls.Cluster, [], withNode: true), cancellationToken).ConfigureAwait(false);
        await SendAsync(call, Request(TypeUrls.Listener, []), cancellationToken).ConfigureAwait(false);
        foreach (var type in NamedTypes)
        {
            var names = NamesFor(type, _state.Current);
            Progress(type).Names = names;
            if (names.IsEmpty) continue;
            await SendAsync(call, Request(type, names), cancellationToken).ConfigureAwait(false);
        }

        var healthy = false;
        while (await call.ReadAsync(cancellationToken).ConfigureAwait(false) is { } response)
        {
            if (!healthy)
            {
                healthy = true;
                _metrics.XdsConnected.With().Set(1);
                LogConnected(_logger, _options.Address);
            }

            await HandleAsync(call, response, cancellationToken).ConfigureAwait(false);
        }

        return healthy;
    }

    /// <summary>Applies one response, answers it, and follows any change in the names the state needs.</summary>
    private async Task HandleAsync(GrpcDuplexCall<DiscoveryRequest, DiscoveryResponse> call, DiscoveryResponse response, CancellationToken cancellationToken)
    {
        var type = response.TypeUrl;
        var progress = Progress(type);
        progress.Nonce = response.Nonce;
        var shortName = TypeUrls.IndexOf(type) >= 0 ? TypeUrls.ShortName(type) : type;
        string? error = null;
        if (TypeUrls.IndexOf(type) < 0)
        {
            error = $"type {type} is not one this proxy subscribes to";
        }
        else
        {
            try
            {
                var next = _translator.Apply(_state.Current, type, response.Resources);
                // Recorded before publishing, so whoever wakes on the new state sees the type as accepted.
                ImmutableInterlocked.Update(ref _acceptedTypes, static (set, t) => set.Add(t), type);
                _state.Publish(next);
            }
            catch (XdsConfigException ex)
            {
                error = ex.Message;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A translator bug must cost this update, not the proxy: the agent hears of it and the old state stays.
                LogTranslatorFailed(_logger, ex, shortName, response.VersionInfo);
                error = $"internal error applying {shortName} version {response.VersionInfo}: {ex.Message}";
            }
        }

        var answer = Request(type, progress.Names);
        answer.ResponseNonce = response.Nonce;
        if (error is null)
        {
            progress.Version = response.VersionInfo;
            answer.VersionInfo = response.VersionInfo;
            _metrics.XdsUpdates.With(shortName).Inc();
            LogAccepted(_logger, shortName, response.VersionInfo, response.Resources.Count);
        }
        else
        {
            // A NACK names the version still in force, as Envoy's does.
            answer.ErrorDetail = new Google.Rpc.Status { Code = InvalidArgument, Message = error };
            _metrics.XdsRejected.With(shortName).Inc();
            LogRejected(_logger, shortName, response.VersionInfo, progress.Version, error);
        }

        await SendAsync(call, answer, cancellationToken).ConfigureAwait(false);

        // The accepted clusters, listeners or secrets may need other endpoints, routes or secrets now.
        var state = _state.Current;
        foreach (var named in NamedTypes)
        {
            var names = NamesFor(named, state);
            var known = Progress(named);
            if (known.Names.SequenceEqual(names, StringComparer.Ordinal)) continue;
            known.Names = names;
            var subscribe = Request(named, names);
            subscribe.ResponseNonce = known.Nonce;
            LogSubscribing(_logger, TypeUrls.ShortName(named), string.Join(", ", names));
            await SendAsync(call, subscribe, cancellationToken).ConfigureAwait(false);
        }
    }

    private DiscoveryRequest Request(string type, ImmutableArray<string> names, bool withNode = false)
    {
        var request = new DiscoveryRequest { TypeUrl = type, VersionInfo = Progress(type).Version, ResponseNonce = Progress(type).Nonce };
        foreach (var name in names) request.ResourceNames.Add(name);
        if (withNode) request.Node = _node;
        return request;
    }

    private static ValueTask SendAsync(GrpcDuplexCall<DiscoveryRequest, DiscoveryResponse> call, DiscoveryRequest request, CancellationToken cancellationToken) =>
        call.WriteAsync(request, cancellationToken);

    private static ImmutableArray<string> NamesFor(string type, SidecarState state) => type switch
    {
        TypeUrls.Endpoint => state.EndpointNames(),
        TypeUrls.Route => state.RouteNames(),
        TypeUrls.Secret => state.SecretNames(),
        _ => [],
    };

    private TypeProgress Progress(string type)
    {
        if (!_types.TryGetValue(type, out var progress))
        {
            progress = new TypeProgress();
            _types[type] = progress;
        }

        return progress;
    }

    /// <summary>A delay between half and all of <paramref name="backoff"/>, so proxies that lost the same agent do not return in step.</summary>
    private static TimeSpan Jitter(TimeSpan backoff) =>
        TimeSpan.FromTicks((long)(backoff.Ticks * (0.5 + Random.Shared.NextDouble() * 0.5)));

    /// <summary>Verifies the agent's certificate against the given CAs only (and its name, as usual).</summary>
    private static bool Verify(X509Certificate2Collection cas, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    /// <summary>Per type: the last accepted version, the last response's nonce on this stream, the names subscribed.</summary>
    private sealed class TypeProgress
    {
        public string Version { get; set; } = "";
        public string Nonce { get; set; } = "";
        public ImmutableArray<string> Names { get; set; } = [];
    }
}
