using Mesh.State;

namespace Mesh.Agent.Dns;

/// <summary>The seam through which <c>&lt;name&gt;.query.&lt;domain&gt;</c> questions run prepared queries.</summary>
internal interface IPreparedQueryLookup
{
    /// <summary>Runs the query with this ID or name (templates included) against <paramref name="view"/>; null when none matches.</summary>
    PreparedQueryHit? Execute(StateView view, string idOrName);

    /// <summary>The tables a query's answer depends on beyond the catalog (the queries themselves), for cache validity.</summary>
    ulong Index(StateView view);
}

/// <summary>A prepared query's result as DNS needs it.</summary>
/// <param name="Service">The service the query looked up (for <c>service_ttl</c> when the query sets no TTL).</param>
/// <param name="Nodes">The healthy instances, filtered and ordered by the query.</param>
/// <param name="Ttl">The query's <c>DNS.TTL</c>, if it sets one.</param>
/// <param name="NearNode">The node whose instances come first (the query's <c>Near</c>), or null: those stay in front of
/// every response while the rest are shuffled.</param>
internal sealed record PreparedQueryHit(string Service, IReadOnlyList<ServiceHealth> Nodes, TimeSpan? Ttl, string? NearNode);
