using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Intention;

/// <summary><c>mesh intention delete SRC DST</c> (or the legacy <c>ID</c>): removes one intention.</summary>
internal sealed class IntentionDeleteCommand : Command
{
    private const string Usage = """
        Usage: mesh intention delete [options] SRC DST
        Usage: mesh intention delete [options] ID

          Delete an intention. This cannot be reversed. The intention can be looked
          up via an exact source/destination match or via the unique intention ID.

              $ mesh intention delete web db
        """;

    private readonly HttpOptions _http;

    public IntentionDeleteCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: true);

    public override string Synopsis => "Delete an intention";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            switch (Flags.Args.Count)
            {
                case 1:
                    ApiClient.RequireOk(await client.SendAsync(HttpMethod.Delete, "/v1/connect/intentions/" + Uri.EscapeDataString(Flags.Args[0]),
                        null, null, null, ctx.Cancellation));
                    break;
                case 2:
                    ApiClient.RequireOk(await client.SendAsync(HttpMethod.Delete, "/v1/connect/intentions/exact",
                        [new("source", Flags.Args[0]), new("destination", Flags.Args[1])], null, null, ctx.Cancellation));
                    break;
                default:
                    ctx.Err.WriteLine("command requires exactly 1 or 2 arguments");
                    return 1;
            }
        }
        catch (Http.ApiException e)
        {
            ctx.Err.WriteLine($"Error deleting the intention: {e.Message}");
            return 1;
        }
        ctx.Out.WriteLine("Intention deleted.");
        return 0;
    }
}
