using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Intention;

/// <summary>
/// <c>mesh intention create [-allow|-deny] [-replace] [-meta k=v]... SRC DST</c> or <c>-file FILE...</c>: creates
/// L4 intentions as Consul's command does, through the intentions API's create (so a second intention for the same
/// pair is refused by the agent, with Consul's message). <c>-replace</c> overwrites an existing one instead: by its
/// ID when the legacy API made it, by name otherwise.
/// </summary>
internal sealed class IntentionCreateCommand : Command
{
    private const string Usage = """
        Usage: mesh intention create [options] SRC DST
        Usage: mesh intention create [options] -file FILE...

          Create one or more intentions. The data can be specified as a single
          source and destination pair or via a set of files when the "-file" flag
          is specified.

              $ mesh intention create web db

          To consume data from a set of files:

              $ mesh intention create -file one.json two.json

          When specifying the "-file" flag, "-" may be used once to read from stdin:

              $ echo "{ ... }" | mesh intention create -file -

          An "allow" intention is created by default (allowlist). To create a
          "deny" intention, the "-deny" flag should be specified.

          If a conflicting intention is found, creation will fail. To replace any
          conflicting intentions, specify the "-replace" flag. This will replace any
          conflicting intentions with the intention specified in this command.
          Metadata and any other fields of the previous intention will not be
          preserved.

          Additional flags and more advanced use cases are detailed below.
        """;

    private readonly HttpOptions _http;
    private readonly Func<bool> _allow, _deny, _file, _replace;
    private readonly Func<IReadOnlyDictionary<string, string>> _meta;

    public IntentionCreateCommand(CliServices services) : base(services, Usage)
    {
        _allow = Flags.Bool("allow", false, "Create an intention that allows when matched.");
        _deny = Flags.Bool("deny", false, "Create an intention that denies when matched.");
        _file = Flags.Bool("file", false, "Read intention data from one or more files.");
        _replace = Flags.Bool("replace", false, "Replace matching intentions.");
        _meta = Flags.Map("meta", "Metadata to set on the intention, formatted as key=value. This flag may be specified multiple times to set multiple meta fields.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Create intentions for service connections";

    /// <summary>One intention to create, from the arguments or a file.</summary>
    private sealed record Spec(string SourceNS, string SourceName, string DestinationNS, string DestinationName, string Action,
        string Description, IReadOnlyDictionary<string, string> Meta)
    {
        public string Source => SourceNS.Length == 0 ? SourceName : SourceNS + "/" + SourceName;
        public string Destination => DestinationNS.Length == 0 ? DestinationName : DestinationNS + "/" + DestinationName;
        public override string ToString() => $"{IntentionApi.Part(SourceNS, SourceName)} => {IntentionApi.Part(DestinationNS, DestinationName)} ({Action})";
    }

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var (allow, deny) = (_allow(), _deny());
        if (allow && deny)
        {
            ctx.Err.WriteLine("Only one of -allow or -deny may be specified.");
            return 1;
        }
        var action = deny ? "deny" : "allow";

        List<Spec> specs;
        try
        {
            specs = _file() ? await FromFilesAsync(ctx) : FromArgs(action);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException or JsonException)
        {
            ctx.Err.WriteLine($"Error: {e.Message}");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        foreach (var spec in specs)
        {
            if (_replace())
            {
                IntentionView? old;
                try
                {
                    old = await IntentionApi.GetExactAsync(client, spec.Source, spec.Destination, stale: false, ctx.Cancellation);
                }
                catch (Http.ApiException e)
                {
                    ctx.Err.WriteLine($"Error looking up intention for replacement with source \"{spec.Source}\" and destination \"{spec.Destination}\": {e.Message}");
                    return 1;
                }
                if (old is not null)
                {
                    try
                    {
                        await ReplaceAsync(client, old, spec, ctx.Cancellation);
                    }
                    catch (Http.ApiException e)
                    {
                        ctx.Err.WriteLine($"Error replacing intention with source \"{spec.Source}\" and destination \"{spec.Destination}\": {e.Message}");
                        return 1;
                    }
                    // As Consul's command: a replaced intention is not reported as created.
                    continue;
                }
            }

            try
            {
                ApiClient.RequireOk(await client.SendAsync(HttpMethod.Post, "/v1/connect/intentions", null, null, Body(spec), ctx.Cancellation));
            }
            catch (Http.ApiException e)
            {
                ctx.Err.WriteLine($"Error creating intention \"{spec}\": {e.Message}");
                return 1;
            }
            ctx.Out.WriteLine($"Created: {spec}");
        }
        return 0;
    }

    /// <summary>
    /// Overwrites <paramref name="old"/>: through its ID when the legacy API made it (the ID stays), otherwise by
    /// name, which is the only way to reach an intention written as part of a config entry.
    /// </summary>
    private static async Task ReplaceAsync(ApiClient client, IntentionView old, Spec spec, CancellationToken ct)
    {
        if (old.Id.Length > 0)
        {
            ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/connect/intentions/" + Uri.EscapeDataString(old.Id), null, null, Body(spec), ct));
            return;
        }
        ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/connect/intentions/exact",
            [new("source", spec.Source), new("destination", spec.Destination)], null, Body(spec), ct));
    }

    private static byte[] Body(Spec s) =>
        IntentionApi.Body(s.SourceNS, s.SourceName, s.DestinationNS, s.DestinationName, s.Action, s.Description, s.Meta);

    private List<Spec> FromArgs(string action)
    {
        if (Flags.Args.Count != 2) throw new FormatException("Must specify two arguments: source and destination");
        (string Name, string Ns) Target(string arg, string what)
        {
            try
            {
                var (name, ns, _) = IntentionApi.ParseTarget(arg);
                return (name, ns);
            }
            catch (FormatException e)
            {
                throw new FormatException($"Invalid intention {what}: {e.Message}");
            }
        }
        var (src, srcNs) = Target(Flags.Args[0], "source");
        var (dst, dstNs) = Target(Flags.Args[1], "destination");
        return [new Spec(srcNs, src, dstNs, dst, action, "", _meta())];
    }

    /// <summary>Each argument a JSON intention file, or <c>-</c> for stdin (once).</summary>
    private async Task<List<Spec>> FromFilesAsync(CliContext ctx)
    {
        var specs = new List<Spec>();
        var stdinRead = false;
        foreach (var path in Flags.Args)
        {
            string text;
            if (path == "-")
            {
                if (stdinRead) throw new IOException("stdin (\"-\") may be used only once");
                stdinRead = true;
                text = await ctx.In.ReadToEndAsync(ctx.Cancellation);
            }
            else
            {
                text = await File.ReadAllTextAsync(Path.IsPathRooted(path) ? path : Path.Combine(ctx.WorkingDirectory, path), ctx.Cancellation);
            }
            using var doc = JsonDocument.Parse(text);
            var view = IntentionView.Read(doc.RootElement);
            if (view.PermissionCount > 0)
                throw new FormatException($"cannot create L7 intention from file \"{path}\" using this CLI; use 'mesh config write' instead");
            specs.Add(new Spec(view.SourceNS, view.SourceName, view.DestinationNS, view.DestinationName, view.Action, view.Description, view.Meta));
        }
        return specs;
    }
}
