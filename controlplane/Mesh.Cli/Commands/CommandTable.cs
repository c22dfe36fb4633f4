using System.Text;
using Mesh.Cli.Commands.Agent;
using Mesh.Cli.Commands.Catalog;
using Mesh.Cli.Commands.Config;
using Mesh.Cli.Commands.Connect;
using Mesh.Cli.Commands.Event;
using Mesh.Cli.Commands.Intention;
using Mesh.Cli.Commands.Keygen;
using Mesh.Cli.Commands.Kv;
using Mesh.Cli.Commands.Lock;
using Mesh.Cli.Commands.Maint;
using Mesh.Cli.Commands.Services;
using Mesh.Cli.Commands.Tls;
using Mesh.Cli.Commands.Version;
using Mesh.Cli.Commands.Watch;

namespace Mesh.Cli.Commands;

/// <summary>
/// The command tree and dispatch, with the behaviour of the <c>mitchellh/cli</c> library Consul uses: nested
/// commands (<c>kv get</c>) are found by longest match on the leading non-flag arguments; <c>mesh</c>, <c>mesh -h</c>
/// and unknown commands print the command list; <c>-v</c>/<c>--version</c> anywhere before <c>--</c> runs
/// <c>version</c>.
/// </summary>
internal sealed class CommandTable
{
    private readonly SortedDictionary<string, Entry> _commands = new(StringComparer.Ordinal);

    public CommandTable(CliServices services)
    {
        Add("agent", "Runs a Mesh agent", AgentCommand.RunAsync);
        Add("catalog", s => new CatalogCommand(s, this), services);
        Add("catalog datacenters", s => new CatalogDatacentersCommand(s), services);
        Add("catalog nodes", s => new CatalogNodesCommand(s), services);
        Add("catalog services", s => new CatalogServicesCommand(s), services);
        Add("config", s => new ConfigCommand(s, this), services);
        Add("config delete", s => new ConfigDeleteCommand(s), services);
        Add("config list", s => new ConfigListCommand(s), services);
        Add("config read", s => new ConfigReadCommand(s), services);
        Add("config write", s => new ConfigWriteCommand(s), services);
        Add("connect", s => new ConnectCommand(s, this, "connect"), services);
        Add("connect ca", s => new ConnectCommand(s, this, "connect ca"), services);
        Add("connect ca get-config", s => new ConnectCaGetConfigCommand(s), services);
        Add("connect ca set-config", s => new ConnectCaSetConfigCommand(s), services);
        Add("connect envoy", s => new ConnectEnvoyCommand(s), services);
        Add("connect proxy", s => new ConnectProxyCommand(s), services);
        Add("event", s => new EventCommand(s), services);
        Add("info", s => new InfoCommand(s), services);
        Add("intention", s => new IntentionCommand(s, this), services);
        Add("intention check", s => new IntentionCheckCommand(s), services);
        Add("intention create", s => new IntentionCreateCommand(s), services);
        Add("intention delete", s => new IntentionDeleteCommand(s), services);
        Add("intention get", s => new IntentionGetCommand(s), services);
        Add("intention list", s => new IntentionListCommand(s), services);
        Add("intention match", s => new IntentionMatchCommand(s), services);
        Add("keygen", s => new KeygenCommand(s), services);
        Add("kv", s => new KvCommand(s, this), services);
        Add("kv delete", s => new KvDeleteCommand(s), services);
        Add("kv export", s => new KvExportCommand(s), services);
        Add("kv get", s => new KvGetCommand(s), services);
        Add("kv import", s => new KvImportCommand(s), services);
        Add("kv put", s => new KvPutCommand(s), services);
        Add("leave", s => new LeaveCommand(s), services);
        Add("lock", s => new LockCommand(s), services);
        Add("maint", s => new MaintCommand(s), services);
        Add("members", s => new MembersCommand(s), services);
        Add("reload", s => new ReloadCommand(s), services);
        Add("monitor", s => new MonitorCommand(s), services);
        Add("services", s => new ServicesCommand(s, this), services);
        Add("validate", s => new ValidateCommand(s), services);
        Add("services deregister", s => new ServicesDeregisterCommand(s), services);
        Add("services register", s => new ServicesRegisterCommand(s), services);
        Add("tls", s => new TlsCommand(s, this), services);
        Add("tls ca", s => new TlsCaCommand(s, this), services);
        Add("tls ca create", s => new TlsCaCreateCommand(s), services);
        Add("tls cert", s => new TlsCertCommand(s, this), services);
        Add("tls cert create", s => new TlsCertCreateCommand(s), services);
        Add("version", s => new VersionCommand(s), services);
        Add("watch", s => new WatchCommand(s), services);
    }

    /// <summary>Runs the command the arguments name and returns the process exit code.</summary>
    public async Task<int> RunAsync(CliContext ctx, IReadOnlyList<string> args)
    {
        // Consul's main turns -v/--version into "version" wherever it appears; only the flags before the command
        // are looked at here, so a child command such as `lock p grep -v x` keeps its -v.
        for (var k = 0; k < args.Count && args[k].StartsWith('-') && args[k] != "--"; k++)
        {
            if (args[k] is "-v" or "--version" or "-version")
            {
                args = ["version"];
                break;
            }
        }

        var isHelp = false;
        var i = 0;
        // Top-level flags before the command: only help and version are understood there.
        for (; i < args.Count && args[i].StartsWith('-'); i++)
        {
            if (args[i] is "-h" or "-help" or "--help") isHelp = true;
        }
        if (i == args.Count)
        {
            if (isHelp)
            {
                ctx.Out.WriteLine(CommandList(""));
                return 0;
            }
            ctx.Err.WriteLine(CommandList(""));
            return 127;
        }

        // Longest match over the words that could name a (nested) command.
        var name = "";
        var consumed = i;
        for (var j = i; j < args.Count && !args[j].StartsWith('-') && !args[j].Contains(' '); j++)
        {
            var candidate = name.Length == 0 ? args[j] : name + " " + args[j];
            if (!_commands.ContainsKey(candidate)) break;
            name = candidate;
            consumed = j + 1;
        }
        if (name.Length == 0)
        {
            ctx.Err.WriteLine(CommandList(""));
            return 127;
        }
        var entry = _commands[name];
        var rest = args.Skip(consumed).ToList();
        if (isHelp) rest.Insert(0, "-h");
        else if (i > 0)
        {
            ctx.Err.WriteLine("Invalid flags before the subcommand. If these flags are for");
            ctx.Err.WriteLine("the subcommand, please put them after the subcommand.");
            ctx.Err.WriteLine();
            await entry.Run(ctx with { Out = ctx.Err }, ["-h"]).ConfigureAwait(false);
            return 1;
        }
        return await entry.Run(ctx, rest).ConfigureAwait(false);
    }

    /// <summary>
    /// "Usage: mesh [--version] [--help] &lt;command&gt; [&lt;args&gt;]" and the immediate subcommands of
    /// <paramref name="parent"/> ("" for the top level), aligned as Consul's <c>BasicHelpFunc</c> does.
    /// </summary>
    public string CommandList(string parent)
    {
        var sb = new StringBuilder();
        sb.Append("Usage: mesh [--version] [--help] <command> [<args>]\n\n");
        sb.Append("Available commands are:\n");
        sb.Append(SubcommandLines(parent));
        return sb.ToString();
    }

    /// <summary>The "    name    synopsis" lines for the direct children of <paramref name="parent"/>.</summary>
    public string SubcommandLines(string parent)
    {
        var prefix = parent.Length == 0 ? "" : parent + " ";
        var children = _commands.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)
                                            && c.Key.Length > prefix.Length
                                            && !c.Key[prefix.Length..].Contains(' '))
            .Select(c => (Name: c.Key[prefix.Length..], c.Value.Synopsis))
            .ToList();
        var width = children.Count == 0 ? 0 : children.Max(c => c.Name.Length);
        var sb = new StringBuilder();
        foreach (var (n, synopsis) in children)
            sb.Append("    ").Append(n.PadRight(width)).Append("    ").Append(synopsis).Append('\n');
        return sb.ToString();
    }

    private void Add(string name, string synopsis, Func<CliContext, IReadOnlyList<string>, Task<int>> run) =>
        _commands[name] = new Entry(synopsis, run);

    private void Add(string name, Func<CliServices, Command> factory, CliServices services) =>
        _commands[name] = new Entry(factory(services).Synopsis, (ctx, args) => factory(services).RunAsync(ctx, args));

    private sealed record Entry(string Synopsis, Func<CliContext, IReadOnlyList<string>, Task<int>> Run);
}
