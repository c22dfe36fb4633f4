using System.Net;
using System.Text.RegularExpressions;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Commands.Agent;

/// <summary><c>mesh members</c>: the gossip pool as Consul's table (or <c>-detailed</c> with all tags).</summary>
internal sealed class MembersCommand : Command
{
    private const string Usage = """
        Usage: mesh members [options]

          Outputs the members of a running Mesh agent.
        """;

    private const string AllSegments = "_all";
    private readonly Func<bool> _detailed, _wan;
    private readonly Func<string> _status, _segment, _filter;
    private readonly HttpOptions _http;

    public MembersCommand(CliServices services) : base(services, Usage)
    {
        _detailed = Flags.Bool("detailed", false, "Provides detailed information about nodes.");
        _wan = Flags.Bool("wan", false,
            "If the agent is in server mode, this can be used to return the other peers in the WAN pool.");
        _status = Flags.String("status", ".*",
            "If provided, output is filtered to only nodes matching the regular expression for status.");
        _segment = Flags.String("segment", AllSegments,
            "(Enterprise-only) If provided, output is filtered to only nodes in the given segment.");
        _filter = Flags.String("filter", "", "Filter to use with the request");
        _http = HttpOptions.Register(Flags, serverFlags: false);
    }

    public override string Synopsis => "Lists the members of a Mesh cluster";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        Regex statusRe;
        try
        {
            statusRe = new Regex(_status(), RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            ctx.Err.WriteLine($"Failed to compile status regexp: {e.Message}");
            return 1;
        }
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        List<AgentMember> members;
        try
        {
            members = await client.Agent.MembersAsync(_wan(), _segment(), _filter(), ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error retrieving members: {e.Message}");
            return 1;
        }

        var rows = new List<(AgentMember Member, Dictionary<string, string> Tags)>();
        foreach (var m in members)
        {
            var tags = new Dictionary<string, string>(m.Tags ?? [], StringComparer.Ordinal);
            if (!tags.TryGetValue("ap", out var partition) || partition.Length == 0) tags["ap"] = "default";
            if (tags["ap"] == "default")
            {
                if (_segment() == AllSegments && Tag(tags, "role") == "consul") tags["segment"] = "<all>";
                else if (Tag(tags, "segment").Length == 0) tags["segment"] = "<default>";
            }
            else
            {
                tags["segment"] = "";
            }
            if (statusRe.IsMatch(StatusName(m.Status))) rows.Add((m, tags));
        }
        if (rows.Count == 0) return 2;

        // Servers first, then the default partition, then by segment, partition and name.
        rows.Sort((a, b) =>
        {
            var c = (Tag(b.Tags, "role") == "consul").CompareTo(Tag(a.Tags, "role") == "consul");
            if (c != 0) return c;
            c = IsDefault(Tag(b.Tags, "ap")).CompareTo(IsDefault(Tag(a.Tags, "ap")));
            if (c != 0) return c;
            c = string.CompareOrdinal(Tag(a.Tags, "segment"), Tag(b.Tags, "segment"));
            if (c != 0) return c;
            c = string.CompareOrdinal(Tag(a.Tags, "ap"), Tag(b.Tags, "ap"));
            return c != 0 ? c : string.CompareOrdinal(a.Member.Name, b.Member.Name);
        });

        var table = new List<IReadOnlyList<string>>();
        if (_detailed())
        {
            table.Add(["Node", "Address", "Status", "Tags"]);
            foreach (var (m, tags) in rows)
            {
                var tagText = string.Join(',', tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));
                table.Add([m.Name, Address(m), StatusName(m.Status), tagText]);
            }
        }
        else
        {
            table.Add(["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"]);
            foreach (var (m, tags) in rows)
            {
                var build = Tag(tags, "build");
                if (build.Length == 0) build = "< 0.3";
                else if (build.IndexOf(':') is var idx and >= 0) build = build[..idx];
                var type = Tag(tags, "role") switch { "node" => "client", "consul" => "server", _ => "unknown" };
                table.Add(type == "unknown"
                    ? [m.Name, Address(m), StatusName(m.Status), type, "", "", "", "", ""]
                    : [m.Name, Address(m), StatusName(m.Status), type, build, Tag(tags, "vsn"), Tag(tags, "dc"), Tag(tags, "ap"), Tag(tags, "segment")]);
            }
        }
        ctx.Out.WriteLine(Columns.Columnize(table));
        return 0;
    }

    /// <summary>Serf's member status names.</summary>
    internal static string StatusName(int status) => status switch
    {
        0 => "none",
        1 => "alive",
        2 => "leaving",
        3 => "left",
        4 => "failed",
        _ => $"unknown({status})",
    };

    private static string Address(AgentMember m) =>
        IPAddress.TryParse(m.Addr, out var ip) ? new IPEndPoint(ip, m.Port).ToString() : $"{m.Addr}:{m.Port}";

    private static string Tag(Dictionary<string, string> tags, string key) => tags.TryGetValue(key, out var v) ? v : "";

    private static bool IsDefault(string partition) => partition is "" or "default";
}
