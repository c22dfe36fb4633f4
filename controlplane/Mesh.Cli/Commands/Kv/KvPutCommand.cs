using System.Text;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Kv;

/// <summary><c>mesh kv put</c>: writes a key, optionally as check-and-set or with a session lock.</summary>
internal sealed class KvPutCommand : Command
{
    private const string Usage = """
        Usage: mesh kv put [options] KEY [DATA]

          Writes the data to the given path in the key-value store. The data can be of
          any type.

              $ mesh kv put config/redis/maxconns 5

          The data can also be consumed from a file on disk by prefixing with the "@"
          symbol. For example:

              $ mesh kv put config/program/license @license.lic

          Or it can be read from stdin using the "-" symbol:

              $ echo "abcd1234" | mesh kv put config/program/license -

          The DATA argument itself is optional. If omitted, this will create an empty
          key-value pair at the specified path:

              $ mesh kv put webapp/beta/active

          If the -base64 flag is specified, the data will be treated as base 64
          encoded.

          To perform a Check-And-Set operation, specify the -cas flag with the
          appropriate -modify-index flag corresponding to the key you want to perform
          the CAS operation on:

              $ mesh kv put -cas -modify-index=844 config/redis/maxconns 5

          Additional flags and more advanced use cases are detailed below.
        """;

    private readonly Func<bool> _cas, _base64, _acquire, _release;
    private readonly Func<ulong> _flags, _modifyIndex;
    private readonly Func<string> _session;
    private readonly HttpOptions _http;

    public KvPutCommand(CliServices services) : base(services, Usage)
    {
        _cas = Flags.Bool("cas", false,
            "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. " +
            "The default value is false.");
        _flags = Flags.UInt64("flags", 0,
            "Unsigned integer value to assign to this key-value pair. This value is not read by Mesh, so clients can " +
            "use this value however makes sense for their use case. The default value is 0 (no flags).");
        _base64 = Flags.Bool("base64", false, "Treat the data as base 64 encoded. The default value is false.");
        _modifyIndex = Flags.UInt64("modify-index", 0,
            "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag.");
        _session = Flags.String("session", "",
            "User-defined identifer for this session as a string. This is commonly used with the -acquire and -release " +
            "operations to build robust locking, but it can be set on any key. The default value is empty (no session).");
        _acquire = Flags.Bool("acquire", false,
            "Obtain a lock on the key. If the key does not exist, this operation will create the key and obtain the " +
            "lock. The session must already exist and be specified via the -session flag. The default value is false.");
        _release = Flags.Bool("release", false,
            "Forfeit the lock on the key at the given path. This requires the -session flag to be set. The key must be " +
            "held by the session in order to be unlocked. The default value is false.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Sets or updates data in the KV store";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var args = Flags.Args;
        if (args.Count == 0)
        {
            ctx.Err.WriteLine("Error! Missing KEY argument");
            return 1;
        }
        if (args.Count > 2)
        {
            ctx.Err.WriteLine($"Error! Too many arguments (expected 1 or 2, got {args.Count})");
            return 1;
        }
        var key = args[0];
        string data;
        try
        {
            data = args.Count == 2 ? await DataSource.LoadAsync(args[1], ctx) : "";
        }
        catch (IOException e)
        {
            ctx.Err.WriteLine($"Error! {e.Message}");
            return 1;
        }

        byte[] value;
        if (_base64())
        {
            try
            {
                value = Convert.FromBase64String(data);
            }
            catch (FormatException e)
            {
                ctx.Err.WriteLine($"Error! Cannot base 64 decode data: {e.Message}");
                return 1;
            }
        }
        else
        {
            value = Encoding.UTF8.GetBytes(data);
        }

        if ((_release() || _acquire()) && _session().Length == 0)
        {
            ctx.Err.WriteLine("Error! Missing -session (required with -acquire and -release)");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        var pair = new KvPair { Key = key, ModifyIndex = _modifyIndex(), Flags = _flags(), Value = value, Session = _session() };
        try
        {
            if (_cas())
            {
                bool ok;
                try { ok = await client.Kv.CasAsync(pair, ctx.Cancellation); }
                catch (Exception e) when (e is ApiException or ArgumentException)
                {
                    ctx.Err.WriteLine($"Error! Did not write to {key}: {e.Message}");
                    return 1;
                }
                if (!ok)
                {
                    ctx.Err.WriteLine(_modifyIndex() == 0
                        ? $"Error! Did not write to {key}: CAS performed with index=0 and key already exists."
                        : $"Error! Did not write to {key}: CAS failed");
                    return 1;
                }
                ctx.Out.WriteLine($"Success! Data written to: {key}");
                return 0;
            }
            if (_acquire())
            {
                if (!await client.Kv.AcquireAsync(pair, ctx.Cancellation))
                {
                    ctx.Err.WriteLine("Error! Did not acquire lock");
                    return 1;
                }
                ctx.Out.WriteLine($"Success! Lock acquired on: {key}");
                return 0;
            }
            if (_release())
            {
                if (!await client.Kv.ReleaseAsync(pair, ctx.Cancellation))
                {
                    ctx.Err.WriteLine("Error! Did not release lock");
                    return 1;
                }
                ctx.Out.WriteLine($"Success! Lock released on: {key}");
                return 0;
            }
            await client.Kv.PutAsync(pair, ctx.Cancellation);
            ctx.Out.WriteLine($"Success! Data written to: {key}");
            return 0;
        }
        catch (Exception e) when (e is ApiException or ArgumentException)
        {
            ctx.Err.WriteLine($"Error! Failed writing data: {e.Message}");
            return 1;
        }
    }
}
