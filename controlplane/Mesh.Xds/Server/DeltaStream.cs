using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Mesh.Xds.Cache;
using Resource = Mesh.Xds.Cache.Resource;

namespace Mesh.Xds.Server;

/// <summary>
/// One incremental stream: per type, the subscription (wildcard and/or names) and the version of every resource the
/// client holds, so that each response carries only what changed and the names that went away.
/// </summary>
internal sealed class DeltaStream(AdsServer server, Func<DeltaDiscoveryResponse, CancellationToken, ValueTask> send, string peer)
    : AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(server, send, peer)
{
    private const string WildcardName = "*";

    /// <summary>Per type, in <see cref="TypeUrls.Ordered"/> order; null until the client asks for the type.</summary>
    private readonly TypeState?[] _types = new TypeState?[TypeUrls.Count];

    protected override string Protocol => "delta";

    protected override bool IsDelta => true;

    protected override Node? NodeOf(DeltaDiscoveryRequest request) => request.Node;

    protected override async ValueTask HandleRequestAsync(DeltaDiscoveryRequest request, CancellationToken cancellationToken)
    {
        var index = TypeIndexOf(request.TypeUrl);
        if (index < 0) return;

        var wildcardAllowed = TypeUrls.AllowsWildcard(request.TypeUrl);
        var state = _types[index];
        if (state is null)
        {
            state = _types[index] = new TypeState();
            // The client's cache from before a reconnect: what it holds at the current version is not sent again,
            // and what it holds that no longer exists is reported removed.
            foreach (var (name, version) in request.InitialResourceVersions) state.ClientVersions[name] = version;
            // Legacy wildcard: a first request for listeners or clusters that names nothing means "all of them".
            if (wildcardAllowed && request.ResourceNamesSubscribe.Count == 0) state.Wildcard = true;
            state.Resend = true;
        }
        else if (request.ResponseNonce.Length > 0)
        {
            Answer(state, index, request.TypeUrl, request.ResponseNonce, request.ErrorDetail);
        }

        // Subscription changes apply whatever the nonce: they are deltas, and dropping one would lose it for good.
        foreach (var name in request.ResourceNamesSubscribe)
        {
            if (name == WildcardName && wildcardAllowed)
            {
                if (!state.Wildcard) state.Wildcard = state.Resend = true;
            }
            else if (state.Names.Add(name))
            {
                state.Resend = true;
            }
        }
        foreach (var name in request.ResourceNamesUnsubscribe)
        {
            if (name == WildcardName && wildcardAllowed)
            {
                if (!state.Wildcard) continue;
                state.Wildcard = false;
                state.Resend = true;
                // Resources only the wildcard covered leave the subscription; the client drops them itself.
                foreach (var held in state.ClientVersions.Keys.Where(n => !state.Names.Contains(n)).ToArray())
                    state.ClientVersions.Remove(held);
            }
            else
            {
                state.Names.Remove(name);
                // The client forgets an unsubscribed resource, so if the wildcard still covers it, it must be sent again.
                if (state.ClientVersions.Remove(name)) state.Resend = true;
            }
        }
        await SendDueAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override ValueTask HandleSnapshotAsync(CancellationToken cancellationToken) => SendDueAsync(cancellationToken);

    /// <summary>
    /// Sends, in <see cref="TypeUrls.Ordered"/> order, each subscribed type's changes since what the client holds:
    /// resources it lacks or holds at another version, and the names it holds that no longer exist. Held types work as
    /// in the state-of-the-world stream: one response in flight per type, and a held type holds the types after it.
    /// </summary>
    private async ValueTask SendDueAsync(CancellationToken cancellationToken)
    {
        if (Snapshot is not { } snapshot) return;
        for (var index = 0; index < _types.Length; index++)
        {
            if (_types[index] is not { } state) continue;
            var resources = snapshot.At(index);
            if (!state.Resend && state.DiffedVersion == resources.Version) continue;
            if (state.AwaitingAnswer) return;

            // Only clusters need to know which resources went out (to resend their endpoints).
            var changed = index == ClusterIndex ? new List<Resource>() : null;
            var response = Diff(state, resources, changed);
            state.DiffedVersion = resources.Version;
            state.Resend = false;
            // Nothing changed for this client. A wildcard subscription still gets a first (possibly empty) response,
            // which is how the client learns the type's initial fetch is complete.
            if (response.Resources.Count == 0 && response.RemovedResources.Count == 0 && (state.EverSent || !state.Wildcard)) continue;

            response.Nonce = NextNonce();
            foreach (var resource in response.Resources) state.ClientVersions[resource.Name] = resource.Version;
            if (changed is not null) ResendEndpointsOf(changed, snapshot);
            foreach (var name in response.RemovedResources) state.ClientVersions.Remove(name);
            state.SentVersion = resources.Version;
            state.SentNonce = response.Nonce;
            state.AwaitingAnswer = true;
            state.EverSent = true;
            await SendAsync(response, index, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Envoy finishes warming a cluster it was just sent only when it receives the cluster's endpoints again, changed or
    /// not (and Consul's incremental server does the same), so the endpoints the client holds for those clusters are
    /// forgotten here and go out next: endpoints come after clusters in the order, in this same pass or once their own
    /// last response is answered.
    /// </summary>
    private void ResendEndpointsOf(List<Resource> clusters, ResourceSnapshot snapshot)
    {
        if (_types[EndpointIndex] is not { } endpoints) return;
        var current = snapshot.At(EndpointIndex).ByName;
        foreach (var cluster in clusters)
        {
            // Only endpoints that still exist: forgetting a deleted one would lose its removal.
            if (cluster.EndpointsName is { } name && current.ContainsKey(name) && endpoints.ClientVersions.Remove(name))
                endpoints.Resend = true;
        }
    }

    private static DeltaDiscoveryResponse Diff(TypeState state, TypeResources resources, List<Resource>? changed)
    {
        var response = new DeltaDiscoveryResponse { SystemVersionInfo = resources.Version, TypeUrl = resources.TypeUrl };
        if (state.Wildcard)
        {
            foreach (var resource in resources.All) AddIfNewer(state, response, resource, changed);
        }
        else
        {
            foreach (var resource in resources.All)
            {
                if (state.Names.Contains(resource.Name)) AddIfNewer(state, response, resource, changed);
            }
        }
        List<string>? removed = null;
        foreach (var name in state.ClientVersions.Keys)
        {
            if (!resources.ByName.ContainsKey(name)) (removed ??= []).Add(name);
        }
        if (removed is not null)
        {
            removed.Sort(StringComparer.Ordinal);
            response.RemovedResources.AddRange(removed);
        }
        return response;
    }

    private static void AddIfNewer(TypeState state, DeltaDiscoveryResponse response, Resource resource, List<Resource>? changed)
    {
        if (state.ClientVersions.TryGetValue(resource.Name, out var held) && held == resource.Version) return;
        response.Resources.Add(resource.Delta);
        changed?.Add(resource);
    }

    /// <summary>One type's subscription and delivery state on this stream.</summary>
    private sealed class TypeState : TypeDelivery
    {
        /// <summary>Subscribed to every resource of the type (<c>*</c>, or the legacy empty first request).</summary>
        public bool Wildcard { get; set; }

        /// <summary>Names subscribed explicitly (kept across wildcard changes, as the protocol asks).</summary>
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        /// <summary>What the client holds, name to version: declared on the first request, then what it was sent.</summary>
        public Dictionary<string, string> ClientVersions { get; } = new(StringComparer.Ordinal);

        /// <summary>The type version last compared against, so an unchanged type costs nothing on a new snapshot.</summary>
        public string? DiffedVersion { get; set; }

        /// <summary>Whether any response of the type was sent on this stream.</summary>
        public bool EverSent { get; set; }
    }
}
