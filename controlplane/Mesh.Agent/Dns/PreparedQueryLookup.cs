using Mesh.Agent.Queries;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Dns;

/// <summary>
/// <c>&lt;query&gt;.query.&lt;domain&gt;</c> through the same executor as <c>/v1/query/&lt;id&gt;/execute</c>. DNS answers
/// are shared by every asker of a name, so a query's <c>Near</c> of <c>_ip</c> (the caller's own node) cannot apply
/// here; <c>_agent</c> and node names do.
/// </summary>
internal sealed class PreparedQueryLookup(PreparedQueryExecutor executor, string agentNode) : IPreparedQueryLookup
{
    /// <inheritdoc/>
    public PreparedQueryHit? Execute(StateView view, string idOrName)
    {
        PreparedQueryResult? result;
        try
        {
            result = executor.Execute(view, idOrName, agentNode);
        }
        catch (PreparedQueryException)
        {
            // A template's ID: templates answer by name only, so by ID there is no such name.
            return null;
        }
        if (result is null) return null;
        var near = result.Query.Service.Near switch
        {
            "" or PreparedQueryExecutor.NearIp => null,
            PreparedQueryExecutor.NearAgent => agentNode,
            var node => node,
        };
        return new PreparedQueryHit(result.Query.Service.Service, result.Nodes, result.DnsTtl, near);
    }

    /// <inheritdoc/>
    public ulong Index(StateView view) => view.TableIndex(TableNames.PreparedQueries);
}
