using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Kv;

/// <summary><c>mesh kv get</c>: reads a key, a prefix (<c>-recurse</c>) or key names (<c>-keys</c>).</summary>
internal sealed class KvGetCommand : Command
{
    private const string Usage = """
        Usage: mesh kv get [options] [KEY_OR_PREFIX]

          Retrieves the value from Mesh's key-value store at the given key name. If no
          key exists with that name, an error is returned. If a key exists with that
          name but has no data, nothing is returned. If the name or prefix is omitted,
          it defaults to "" which is the root of the key-value store.

          To retrieve the value for the key named "foo" in the key-value store:

              $ mesh kv get foo

          This will return the original, raw value stored in Mesh. To view detailed
          information about the key, specify the "-detailed" flag. This will output all
          known metadata about the key including ModifyIndex and any user-supplied
          flags:

              $ mesh kv get -detailed foo

          To treat the path as a prefix and list all keys which start with the given
          prefix, specify the "-recurse" flag:

              $ mesh kv get -recurse foo

          This will return all key-value pairs. To just list the keys which start with
          the specified prefix, use the "-keys" option instead:

              $ mesh kv get -keys foo

          For a full list of options and examples, please see the Mesh documentation.
        """;

    private readonly Func<bool> _base64, _detailed, _keys, _recurse;
    private readonly Func<string> _separator;
    private readonly HttpOptions _http;

    public KvGetCommand(CliServices services) : base(services, Usage)
    {
        _base64 = Flags.Bool("base64", false, "Base64 encode the value. The default value is false.");
        _detailed = Flags.Bool("detailed", false,
            "Provide additional metadata about the key in addition to the value such as the ModifyIndex and any flags " +
            "that may have been set on the key. The default value is false.");
        _keys = Flags.Bool("keys", false,
            "List keys which start with the given prefix, but not their values. This is especially useful if you only " +
            "need the key names themselves. This option is commonly combined with the -separator option. The default " +
            "value is false.");
        _recurse = Flags.Bool("recurse", false,
            "Recursively look at all keys prefixed with the given path. The default value is false.");
        _separator = Flags.String("separator", "/",
            "String to use as a separator between keys. The default value is \"/\", but this option is only taken " +
            "into account when paired with the -keys flag.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Retrieves or lists data from the KV store";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var args = Flags.Args;
        if (args.Count > 1)
        {
            ctx.Err.WriteLine($"Too many arguments (expected 1, got {args.Count})");
            return 1;
        }
        var key = KvFormat.TrimLeadingSlash(args.Count == 1 ? args[0] : "");
        if (key.Length == 0 && !(_recurse() || _keys()))
        {
            ctx.Err.WriteLine("Error! Missing KEY argument");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        var query = new QueryOptions { AllowStale = _http.Stale };
        try
        {
            if (_keys())
            {
                var (keys, _) = await client.Kv.KeysAsync(key, _separator(), query, ctx.Cancellation);
                foreach (var k in keys ?? []) ctx.Out.WriteLine(k);
                return 0;
            }
            if (_recurse())
            {
                var (pairs, _) = await client.Kv.ListAsync(key, query, ctx.Cancellation);
                pairs ??= [];
                for (var i = 0; i < pairs.Count; i++)
                {
                    if (_detailed())
                    {
                        ctx.Out.WriteLine(KvFormat.Detailed(pairs[i], _base64()));
                        if (i < pairs.Count - 1) ctx.Out.WriteLine();
                    }
                    else
                    {
                        ctx.Out.WriteLine($"{pairs[i].Key}:{KvFormat.Value(pairs[i], _base64())}");
                    }
                }
                return 0;
            }

            var (pair, _) = await client.Kv.GetAsync(key, query, ctx.Cancellation);
            if (pair is null)
            {
                ctx.Err.WriteLine($"Error! No key exists at: {key}");
                return 1;
            }
            ctx.Out.WriteLine(_detailed() ? KvFormat.Detailed(pair, _base64()) : KvFormat.Value(pair, _base64()));
            return 0;
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error querying Mesh agent: {e.Message}");
            return 1;
        }
    }
}
