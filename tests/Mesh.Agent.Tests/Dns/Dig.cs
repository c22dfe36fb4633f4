using System.Net;
using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Dns;

/// <summary>One record line of dig's output: owner, TTL, type and the data as dig prints it.</summary>
internal sealed record DigRecord(string Name, uint Ttl, string Type, string Data);

/// <summary>What dig printed, parsed: status, header flags and the three record sections.</summary>
internal sealed record DigAnswer(string Status, IReadOnlySet<string> Flags, IReadOnlyList<DigRecord> Answer,
    IReadOnlyList<DigRecord> Authority, IReadOnlyList<DigRecord> Additional, string Output)
{
    public IEnumerable<DigRecord> AnswersOf(string type) => Answer.Where(r => r.Type == type);
}

/// <summary>Runs the real resolver tool, dig (bind9-dnsutils), against a server and parses its report.</summary>
internal static class Dig
{
    /// <summary>Asks <paramref name="server"/> for <paramref name="name"/>/<paramref name="type"/>; extra options are dig's (+tcp, +noedns...).</summary>
    public static async Task<DigAnswer> QueryAsync(IPEndPoint server, string name, string type, params string[] options)
    {
        string[] args = [$"@{server.Address}", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), name, type,
            "+time=5", "+tries=1", "+nocookie", .. options];
        var result = await ChildProcess.RunAsync("dig", args, new Dictionary<string, string>(), Path.GetTempPath(), TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0 && !result.TimedOut, result.Describe("dig " + string.Join(' ', args)));
        return Parse(result.Output);
    }

    private static DigAnswer Parse(string output)
    {
        var status = "";
        var flags = new HashSet<string>(StringComparer.Ordinal);
        var sections = new Dictionary<string, List<DigRecord>> { ["ANSWER"] = [], ["AUTHORITY"] = [], ["ADDITIONAL"] = [] };
        List<DigRecord>? current = null;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.Contains("status: ", StringComparison.Ordinal))
            {
                var at = line.IndexOf("status: ", StringComparison.Ordinal) + 8;
                status = line[at..line.IndexOf(',', at)];
                continue;
            }
            if (line.StartsWith(";; flags:", StringComparison.Ordinal))
            {
                foreach (var f in line[9..line.IndexOf(';', 9)].Split(' ', StringSplitOptions.RemoveEmptyEntries)) flags.Add(f);
                continue;
            }
            if (line.StartsWith(";; ", StringComparison.Ordinal) && line.EndsWith(" SECTION:", StringComparison.Ordinal))
            {
                current = sections.GetValueOrDefault(line[3..^9]);
                continue;
            }
            if (line.Length == 0 || line.StartsWith(';'))
            {
                if (line.Length == 0) current = null;
                continue;
            }
            if (current is null) continue;
            var parts = line.Split((char[])['\t', ' '], 5, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 4) continue;
            current.Add(new DigRecord(parts[0], uint.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts[3], parts.Length > 4 ? parts[4] : ""));
        }
        return new DigAnswer(status, flags, sections["ANSWER"], sections["AUTHORITY"], sections["ADDITIONAL"], output);
    }
}
