using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Maint;

/// <summary>
/// <c>mesh maint</c>: puts the agent's node or one of its services into (or out of) maintenance mode, or lists
/// what is in maintenance (the agent's <c>_node_maintenance</c> and <c>_service_maintenance:&lt;id&gt;</c> checks).
/// </summary>
internal sealed class MaintCommand : Command
{
    private const string Usage = """
        Usage: mesh maint [options]

          Places a node or service into maintenance mode. During maintenance mode,
          the node or service will be excluded from all queries through the DNS
          or API interfaces, effectively taking it out of the pool of available
          nodes. This is done by registering an additional critical health check.

          When enabling maintenance mode for a node or service, you may optionally
          specify a reason string. This string will appear in the "Notes" field
          of the critical health check which is registered against the node or
          service. If no reason is provided, a default value will be used.

          Maintenance mode is persistent, and will be restored in the event of an
          agent restart. It is therefore required to disable maintenance mode on
          a given node or service before it will be placed back into the pool.

          By default, we operate on the node as a whole. By specifying the
          "-service" argument, this behavior can be changed to enable or disable
          only a specific service.

          If no arguments are given, the agent's maintenance status will be shown.
          This will return blank if nothing is currently under maintenance.
        """;

    private const string NodeMaintenanceCheck = "_node_maintenance";
    private const string ServiceMaintenancePrefix = "_service_maintenance:";

    private readonly Func<bool> _enable, _disable;
    private readonly Func<string> _reason, _service;
    private readonly HttpOptions _http;

    public MaintCommand(CliServices services) : base(services, Usage)
    {
        _http = HttpOptions.Register(Flags, serverFlags: false);
        _enable = Flags.Bool("enable", false, "Enable maintenance mode.");
        _disable = Flags.Bool("disable", false, "Disable maintenance mode.");
        _reason = Flags.String("reason", "", "Text describing the maintenance reason.");
        _service = Flags.String("service", "", "Control maintenance mode for a specific service ID.");
    }

    public override string Synopsis => "Controls node or service maintenance mode";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var enable = _enable();
        var disable = _disable();
        if (enable && disable)
        {
            ctx.Err.WriteLine("Only one of -enable or -disable may be provided");
            return 1;
        }
        if (!enable && _reason().Length > 0)
        {
            ctx.Err.WriteLine("Reason may only be provided with -enable");
            return 1;
        }
        if (!enable && !disable && _service().Length > 0)
        {
            ctx.Err.WriteLine("Service requires either -enable or -disable");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        string nodeName;
        try
        {
            // Consul asks for the node name first, so a wrong address fails before anything changes.
            nodeName = await client.Agent.NodeNameAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error querying Mesh agent: {e.Message}");
            return 1;
        }

        if (!enable && !disable) return await ListAsync(ctx, client, nodeName);

        var service = _service().Length > 0 ? _service() : null;
        try
        {
            await client.Agent.MaintenanceAsync(service, enable, _reason(), ctx.Cancellation);
        }
        catch (ApiException e)
        {
            var what = service is null ? "node" : "service";
            ctx.Err.WriteLine($"Error {(enable ? "enabling" : "disabling")} {what} maintenance: {e.Message}");
            return 1;
        }
        var state = enable ? "enabled" : "disabled";
        ctx.Out.WriteLine(service is null
            ? $"Node maintenance is now {state}"
            : $"Service maintenance is now {state} for \"{service}\"");
        return 0;
    }

    private static async Task<int> ListAsync(CliContext ctx, ApiClient client, string nodeName)
    {
        Dictionary<string, AgentCheck?> checks;
        try
        {
            checks = await client.Agent.ChecksAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error getting checks: {e.Message}");
            return 1;
        }
        // Consul walks a Go map (random order); sorting by check ID puts the node first and keeps output stable.
        foreach (var (id, check) in checks.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (check is null) continue;
            var checkId = check.CheckID.Length > 0 ? check.CheckID : id;
            if (checkId == NodeMaintenanceCheck)
            {
                ctx.Out.WriteLine("Node:");
                ctx.Out.WriteLine("  Name:   " + nodeName);
                ctx.Out.WriteLine("  Reason: " + check.Notes);
                ctx.Out.WriteLine();
            }
            else if (checkId.StartsWith(ServiceMaintenancePrefix, StringComparison.Ordinal))
            {
                ctx.Out.WriteLine("Service:");
                ctx.Out.WriteLine("  ID:     " + check.ServiceID);
                ctx.Out.WriteLine("  Reason: " + check.Notes);
                ctx.Out.WriteLine();
            }
        }
        return 0;
    }
}
