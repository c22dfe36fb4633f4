using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.Collections;
using Mesh.Xds.Cache;

namespace Mesh.Xds.Server;

/// <summary>
/// One state-of-the-world stream: per type, what the client subscribed to, what it was last sent (version, nonce) and
/// what it last accepted. Every response carries all the resources the subscription covers.
/// </summary>
internal sealed class SotwStream(AdsServer server, Func<DiscoveryResponse, CancellationToken, ValueTask> send, string peer)
    : AdsStream<DiscoveryRequest, DiscoveryResponse>(server, send, peer)
{
    /// <summary>Per type, in <see cref="TypeUrls.Ordered"/> order; null until the client asks for the type.</summary>
    private readonly TypeState?[] _types = new TypeState?[TypeUrls.Count];

    protected override string Protocol => "sotw";

    protected override bool IsDelta => false;

    protected override Node? NodeOf(DiscoveryRequest request) => request.Node;

    protected override async ValueTask HandleRequestAsync(DiscoveryRequest request, CancellationToken cancellationToken)
    {
        var index = TypeIndexOf(request.TypeUrl);
        if (index < 0) return;

        var state = _types[index];
        var nonce = request.ResponseNonce;
        if (state is null || state.SentNonce is null || nonce.Length == 0)
        {
            // A first request for the type (on a new stream, perhaps after a reconnect with a version this server
            // never had): whatever version_info it carries, the client gets the current resources.
            state ??= _types[index] = new TypeState(TypeUrls.AllowsWildcard(request.TypeUrl));
            state.SetNames(request.ResourceNames);
            state.Resend = true;
            state.AwaitingAnswer = false;
        }
        else
        {
            if (!Answer(state, index, request.TypeUrl, nonce, request.ErrorDetail)) return;
            // A later request with the latest nonce may still change the names.
            if (state.SetNames(request.ResourceNames)) state.Resend = true;
        }
        await SendDueAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override ValueTask HandleSnapshotAsync(CancellationToken cancellationToken) => SendDueAsync(cancellationToken);

    /// <summary>
    /// Sends, in <see cref="TypeUrls.Ordered"/> order (secrets, clusters, endpoints, listeners, routes), each subscribed
    /// type whose version or subscription changed since its last response.
    /// </summary>
    /// <remarks>
    /// A type whose previous response the client has not answered yet is held (one response in flight per type, as
    /// go-control-plane and Consul do; a client that is slow to apply gets the newest version once it answers, never a
    /// backlog). Holding a type also holds every type after it, so the order survives: a listener never overtakes the
    /// cluster it needs. The client's answer to the held type triggers the next pass.
    /// </remarks>
    private async ValueTask SendDueAsync(CancellationToken cancellationToken)
    {
        if (Snapshot is not { } snapshot) return;
        for (var index = 0; index < _types.Length; index++)
        {
            if (_types[index] is not { } state) continue;
            var resources = snapshot.At(index);
            if (!state.Resend && state.SentVersion == resources.Version) continue;
            if (state.AwaitingAnswer) return;

            var response = new DiscoveryResponse { VersionInfo = resources.Version, TypeUrl = resources.TypeUrl, Nonce = NextNonce() };
            foreach (var resource in resources.All)
            {
                if (state.Wildcard || state.Names.Contains(resource.Name)) response.Resources.Add(resource.Body);
            }
            // Envoy finishes warming an updated cluster only when it receives the cluster's endpoints again, changed or
            // not; endpoints come next in the order, so they follow in this same pass (or once their own answer is in).
            if (index == ClusterIndex && state.SentVersion is not null && state.SentVersion != resources.Version &&
                _types[EndpointIndex] is { } endpoints)
                endpoints.Resend = true;
            state.SentVersion = resources.Version;
            state.SentNonce = response.Nonce;
            state.AwaitingAnswer = true;
            state.Resend = false;
            await SendAsync(response, index, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One type's subscription and delivery state on this stream.</summary>
    private sealed class TypeState(bool wildcardAllowed) : TypeDelivery
    {
        /// <summary>All resources of the type (LDS and CDS subscribed with no names or with <c>*</c>).</summary>
        public bool Wildcard { get; private set; }

        /// <summary>The names subscribed (besides <c>*</c>).</summary>
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        /// <summary>Takes the names of a request; returns whether the subscription changed.</summary>
        public bool SetNames(RepeatedField<string> names)
        {
            var wildcard = wildcardAllowed && (names.Count == 0 || names.Contains("*"));
            if (wildcard == Wildcard)
            {
                // The common case (an ACK repeating the names): compare without allocating.
                var count = 0;
                var known = true;
                foreach (var name in names)
                {
                    if (IsWildcardName(name)) continue;
                    count++;
                    if (!Names.Contains(name)) { known = false; break; }
                }
                if (known && count == Names.Count) return false;
            }
            var fresh = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (!IsWildcardName(name)) fresh.Add(name);
            }
            if (wildcard == Wildcard && fresh.SetEquals(Names)) return false;
            Wildcard = wildcard;
            Names.Clear();
            Names.UnionWith(fresh);
            return true;
        }

        private bool IsWildcardName(string name) => wildcardAllowed && name == "*";
    }
}
