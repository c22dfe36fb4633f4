using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Kv;

/// <summary><c>mesh kv delete</c>: removes a key, a prefix (<c>-recurse</c>) or a key at a known index (<c>-cas</c>).</summary>
internal sealed class KvDeleteCommand : Command
{
    private const string Usage = """
        Usage: mesh kv delete [options] KEY_OR_PREFIX

          Removes the value from Mesh's key-value store at the given path. If no
          key exists at the path, no action is taken.

          To delete the value for the key named "foo" in the key-value store:

              $ mesh kv delete foo

          To delete all keys which start with "foo", specify the -recurse option:

              $ mesh kv delete -recurse foo

          This will delete the keys named "foo", "food", and "foo/bar/zip" if they
          existed.
        """;

    private readonly Func<bool> _cas, _recurse;
    private readonly Func<ulong> _modifyIndex;
    private readonly HttpOptions _http;

    public KvDeleteCommand(CliServices services) : base(services, Usage)
    {
        _cas = Flags.Bool("cas", false,
            "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. " +
            "The default value is false.");
        _modifyIndex = Flags.UInt64("modify-index", 0,
            "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag.");
        _recurse = Flags.Bool("recurse", false, "Recursively delete all keys with the path. The default value is false.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Removes data from the KV store";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var args = Flags.Args;
        if (args.Count > 1)
        {
            ctx.Err.WriteLine($"Too many arguments (expected 1, got {args.Count})");
            return 1;
        }
        var key = KvFormat.TrimLeadingSlash(args.Count == 1 ? args[0] : "");
        if (key.Length == 0 && !_recurse())
        {
            ctx.Err.WriteLine("Error! Missing KEY argument");
            return 1;
        }
        if (_cas() && _modifyIndex() == 0)
        {
            ctx.Err.WriteLine("Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.");
            return 1;
        }
        if (_modifyIndex() != 0 && !_cas())
        {
            ctx.Err.WriteLine("Cannot specify -modify-index without -cas!");
            return 1;
        }
        if (_recurse() && _cas())
        {
            ctx.Err.WriteLine("Cannot specify both -cas and -recurse!");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        if (_recurse())
        {
            try { await client.Kv.DeleteTreeAsync(key, ctx.Cancellation); }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error! Did not delete prefix {key}: {e.Message}");
                return 1;
            }
            ctx.Out.WriteLine($"Success! Deleted keys with prefix: {key}");
            return 0;
        }
        if (_cas())
        {
            bool deleted;
            try { deleted = await client.Kv.DeleteCasAsync(key, _modifyIndex(), ctx.Cancellation); }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error! Did not delete key {key}: {e.Message}");
                return 1;
            }
            if (!deleted)
            {
                ctx.Err.WriteLine($"Error! Did not delete key {key}: CAS failed");
                return 1;
            }
            ctx.Out.WriteLine($"Success! Deleted key: {key}");
            return 0;
        }
        try { await client.Kv.DeleteAsync(key, ctx.Cancellation); }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error deleting key {key}: {e.Message}");
            return 1;
        }
        ctx.Out.WriteLine($"Success! Deleted key: {key}");
        return 0;
    }
}
