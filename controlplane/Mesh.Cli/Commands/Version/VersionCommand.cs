using System.Reflection;
using System.Text;
using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Version;

/// <summary><c>mesh version</c>: the version, revision, build date and RPC protocol range in Consul's layout.</summary>
internal sealed class VersionCommand : Command
{
    private const string Usage = """
        Usage: mesh version [options]
        """;

    // Consul's server RPC protocol numbers, which Mesh speaks (DefaultRPCProtocol, ProtocolVersionMin/Max).
    private const int RpcDefault = 2, RpcMin = 2, RpcMax = 3;

    private readonly Func<string> _format;

    public VersionCommand(CliServices services) : base(services, Usage) =>
        _format = Flags.String("format", "pretty", "Output format {pretty|json}");

    public override string Synopsis => "Prints the Mesh version";

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        var info = Current();
        switch (_format())
        {
            case "pretty":
                // Consul's UI adds a newline to text that already ends in one, leaving a blank last line.
                ctx.Out.WriteLine(Pretty(info));
                return Task.FromResult(0);
            case "json":
                ctx.Out.WriteLine(JsonSerializer.Serialize(info, ApiJson.Indented3.VersionInfo));
                return Task.FromResult(0);
            default:
                ctx.Err.WriteLine($"Unknown format: {_format()}");
                return Task.FromResult(1);
        }
    }

    /// <summary>
    /// The version of this build, from the assembly: <c>AssemblyInformationalVersion</c> is "0.1.0[-pre][+commit]"
    /// (the SDK appends the git commit), the build date is the assembly file's time.
    /// </summary>
    internal static VersionInfo Current()
    {
        var assembly = typeof(VersionCommand).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                            ?? assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var plus = informational.IndexOf('+');
        var revision = plus >= 0 ? informational[(plus + 1)..] : "";
        var version = plus >= 0 ? informational[..plus] : informational;
        var dash = version.IndexOf('-');
        var prerelease = dash >= 0 ? version[(dash + 1)..] : "";
        if (dash >= 0) version = version[..dash];
        var location = assembly.Location;
        var built = location.Length > 0 && File.Exists(location) ? File.GetLastWriteTimeUtc(location) : DateTime.UnixEpoch;
        return new VersionInfo
        {
            Version = version,
            Revision = revision,
            Prerelease = prerelease,
            BuildDate = new DateTime(built.Ticks - built.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc),
            RPC = new RpcVersionInfo { Default = RpcDefault, Min = RpcMin, Max = RpcMax },
        };
    }

    /// <summary>Consul's pretty layout: "Mesh vX", "Revision", "Build Date", "Protocol ..." lines.</summary>
    internal static string Pretty(VersionInfo info)
    {
        var sb = new StringBuilder();
        var human = info.Prerelease.Length > 0 ? $"{info.Version}-{info.Prerelease}" : info.Version;
        sb.Append($"Mesh v{human}\n");
        if (info.Revision.Length > 0) sb.Append($"Revision {info.Revision}\n");
        sb.Append($"Build Date {info.BuildDate:yyyy-MM-dd'T'HH:mm:ss'Z'}\n");
        var supplement = info.RPC.Default < info.RPC.Max
            ? $" (agent will automatically use protocol >{info.RPC.Default} when speaking to compatible agents)"
            : "";
        sb.Append($"Protocol {info.RPC.Default} spoken by default, understands {info.RPC.Min} to {info.RPC.Max}{supplement}\n");
        return sb.ToString();
    }
}
