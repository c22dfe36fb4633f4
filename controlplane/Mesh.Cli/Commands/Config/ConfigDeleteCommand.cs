using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Config;

/// <summary><c>mesh config delete -kind K -name N [-cas -modify-index N]</c>: removes one config entry.</summary>
internal sealed class ConfigDeleteCommand : Command
{
    private const string Usage = """
        Usage: mesh config delete [options] -kind <config kind> -name <config name>

          Deletes the configuration entry specified by the kind and name.

          Example:

              $ mesh config delete -kind service-defaults -name web
        """;

    private readonly HttpOptions _http;
    private readonly Func<string> _kind, _name;
    private readonly Func<bool> _cas;
    private readonly Func<ulong> _modifyIndex;

    public ConfigDeleteCommand(CliServices services) : base(services, Usage)
    {
        _kind = Flags.String("kind", "", "The kind of configuration to delete.");
        _name = Flags.String("name", "", "The name of configuration to delete.");
        _cas = Flags.Bool("cas", false,
            "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. " +
            "The default value is false.");
        _modifyIndex = Flags.UInt64("modify-index", 0,
            "Unsigned integer representing the ModifyIndex of the config entry. This is used in combination with the -cas flag.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Delete a centralized config entry";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var (kind, name) = (_kind(), _name());
        if (!ConfigJson.RequireKindAndName(ctx.Err, kind, name)) return 1;
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        bool deleted;
        try
        {
            var parameters = ConfigJson.Cas(_cas(), _modifyIndex());
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Delete,
                $"/v1/config/{ConfigJson.Segment(kind)}/{ConfigJson.Segment(name)}", parameters, null, null, ctx.Cancellation));
            // Only a check-and-set delete answers true or false; a plain one that returns 200 deleted.
            deleted = !_cas() || ConfigJson.ReadBool(result);
        }
        catch (Http.ApiException e)
        {
            ctx.Err.WriteLine($"Error deleting config entry {kind}/{name}: {e.Message}");
            return 1;
        }
        if (!deleted)
        {
            ctx.Err.WriteLine($"Config entry not deleted: {kind}/{name}");
            return 1;
        }
        ctx.Out.WriteLine($"Config entry deleted: {kind}/{name}");
        return 0;
    }
}
