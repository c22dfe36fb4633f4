using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Commands.Intention;

/// <summary><c>mesh intention get SRC DST</c> (or the legacy <c>ID</c>): the intention as Consul's key/value table.</summary>
internal sealed class IntentionGetCommand : Command
{
    private const string Usage = """
        Usage: mesh intention get [options] SRC DST
        Usage: mesh intention get [options] ID

          Read and show the details about an intention. The intention can be looked
          up via an exact source/destination match or via the unique intention ID.

              $ mesh intention get web db
        """;

    private static readonly JsonSerializerOptions TwoSpaces = new() { WriteIndented = true, IndentSize = 2, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly HttpOptions _http;

    public IntentionGetCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: true);

    public override string Synopsis => "Show information about an intention";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        IntentionView? ixn;
        try
        {
            switch (Flags.Args.Count)
            {
                case 1:
                    ixn = await IntentionApi.GetByIdAsync(client, Flags.Args[0], _http.Stale, ctx.Cancellation);
                    if (ixn is null)
                    {
                        ctx.Err.WriteLine($"Intention not found with ID \"{Flags.Args[0]}\"");
                        return 1;
                    }
                    break;
                case 2:
                    ixn = await IntentionApi.GetExactAsync(client, Flags.Args[0], Flags.Args[1], _http.Stale, ctx.Cancellation);
                    if (ixn is null)
                    {
                        ctx.Err.WriteLine($"Intention not found with source \"{Flags.Args[0]}\" and destination \"{Flags.Args[1]}\"");
                        return 1;
                    }
                    break;
                default:
                    ctx.Err.WriteLine("command requires exactly 1 or 2 arguments");
                    return 1;
            }
        }
        catch (Http.ApiException e)
        {
            ctx.Err.WriteLine($"Error reading the intention: {e.Message}");
            return 1;
        }

        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "Source:", ixn.SourceString },
            new[] { "Destination:", ixn.DestinationString },
        };
        if (ixn.Action.Length > 0) rows.Add(["Action:", ixn.Action]);
        if (ixn.Id.Length > 0) rows.Add(["ID:", ixn.Id]);
        if (ixn.Description.Length > 0) rows.Add(["Description:", ixn.Description]);
        foreach (var (k, v) in ixn.Meta) rows.Add([$"Meta[{k}]:", v]);
        rows.Add(["Created At:", Rfc850(ixn.CreatedAt)]);
        ctx.Out.WriteLine(Columns.Columnize(rows));
        if (ixn.Permissions is { } permissions)
            ctx.Out.WriteLine("Permissions:\n" + JsonSerializer.Serialize(permissions, TwoSpaces));
        return 0;
    }

    /// <summary>
    /// Go's <c>time.RFC850</c> in local time (<c>Monday, 02-Jan-06 15:04:05 MST</c>), as Consul prints it; an
    /// intention written by name has no creation time and shows Go's zero time. The zone is its abbreviation when it
    /// is UTC and the numeric offset otherwise (.NET has no zone abbreviations).
    /// </summary>
    internal static string Rfc850(DateTime utc)
    {
        if (utc == DateTime.MinValue) return "Monday, 01-Jan-01 00:00:00 UTC";
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), TimeZoneInfo.Local);
        var offset = TimeZoneInfo.Local.GetUtcOffset(local);
        var zone = offset == TimeSpan.Zero ? "UTC" : (offset < TimeSpan.Zero ? "-" : "+") + offset.ToString("hhmm", CultureInfo.InvariantCulture);
        return local.ToString("dddd, dd-MMM-yy HH:mm:ss ", CultureInfo.InvariantCulture) + zone;
    }
}
