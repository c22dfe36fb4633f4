using System.Net;
using Mesh.Ca.Certificates;

namespace Mesh.Cli.Commands.Tls;

/// <summary>
/// <c>mesh tls cert create -server|-client|-cli</c>: a certificate and key signed by the agent CA, written to
/// <c>&lt;dc&gt;-&lt;kind&gt;-&lt;domain&gt;-&lt;n&gt;.pem</c> and <c>…-&lt;n&gt;-key.pem</c> with the first free
/// <c>n</c>.
/// </summary>
internal sealed class TlsCertCreateCommand : Command
{
    private const string Usage = """
        Usage: mesh tls cert create [options]

          Creates a new certificate and key, signed by the CA:

              $ mesh tls cert create -server
              ==> WARNING: Server Certificates grants authority to become a
                  server and access all state in the cluster including root keys
                  and all ACL tokens. Do not distribute them to production hosts
                  that are not server nodes. Store them as securely as CA keys.
              ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
              ==> Saved dc1-server-consul-0.pem
              ==> Saved dc1-server-consul-0-key.pem

              $ mesh tls cert create -client
              ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
              ==> Saved dc1-client-consul-0.pem
              ==> Saved dc1-client-consul-0-key.pem
        """;

    private const string ServerWarning = """
        ==> WARNING: Server Certificates grants authority to become a
            server and access all state in the cluster including root keys
            and all ACL tokens. Do not distribute them to production hosts
            that are not server nodes. Store them as securely as CA keys.
        """;

    /// <summary>Stands for the -domain value in the -ca and -key defaults, as in Consul.</summary>
    private const string DomainPlaceholder = "#DOMAIN#";

    /// <summary>The highest file index tried, as Consul's.</summary>
    private const int MaxIndex = 10000;

    private readonly Func<string> _ca, _key, _node, _dc, _domain;
    private readonly Func<bool> _server, _client, _cli;
    private readonly Func<int> _days;
    private readonly Func<IReadOnlyList<string>> _dnsNames, _ipAddresses;

    public TlsCertCreateCommand(CliServices services) : base(services, Usage)
    {
        _ca = Flags.String("ca", $"{DomainPlaceholder}-agent-ca.pem", $"Path to the CA certificate. Defaults to {DomainPlaceholder}-agent-ca.pem.");
        _key = Flags.String("key", $"{DomainPlaceholder}-agent-ca-key.pem", $"Path to the CA's private key. Defaults to {DomainPlaceholder}-agent-ca-key.pem.");
        _server = Flags.Bool("server", false, "Create a server certificate.");
        _client = Flags.Bool("client", false, "Create a client certificate.");
        _cli = Flags.Bool("cli", false, "Create a certificate for the command-line client.");
        _node = Flags.String("node", "",
            "With -server, also names the certificate <node>.server.<datacenter>.<domain>.");
        _days = Flags.Int("days", 365, "Number of days the certificate is valid for. Defaults to 365 days (1 year).");
        _dc = Flags.String("dc", "dc1", "The datacenter the certificate is for. Defaults to dc1.");
        _domain = Flags.String("domain", "consul", "The DNS domain of the cluster. Defaults to consul.");
        _dnsNames = Flags.List("additional-dnsname",
            "Another DNS name for the subject alternative names; localhost is always included. Can be given more than once.");
        _ipAddresses = Flags.List("additional-ipaddress",
            "Another IP address for the subject alternative names; 127.0.0.1 is always included for servers and " +
            "clients. Can be given more than once.");
    }

    public override string Synopsis => "Create a new certificate";

    protected override Task<int> ExecuteAsync(CliContext ctx) => Task.FromResult(Run(ctx));

    private int Run(CliContext ctx)
    {
        if (Flags.Args.Count > 0)
        {
            ctx.Err.WriteLine($"Too many arguments (expected 0, got {Flags.Args.Count})");
            return 1;
        }
        if (_ca().Length == 0)
        {
            ctx.Err.WriteLine("Please provide the ca");
            return 1;
        }
        if (_key().Length == 0)
        {
            ctx.Err.WriteLine("Please provide the key");
            return 1;
        }
        if ((_server() ? 1 : 0) + (_client() ? 1 : 0) + (_cli() ? 1 : 0) != 1)
        {
            ctx.Err.WriteLine("Please provide either -server, -client, or -cli");
            return 1;
        }
        if (_node().Length > 0 && !_server())
        {
            ctx.Err.WriteLine("-node requires -server");
            return 1;
        }
        if (_days() < 1)
        {
            ctx.Err.WriteLine($"-days must be at least 1, not {_days()}");
            return 1;
        }
        var ips = new List<IPAddress>();
        foreach (var text in _ipAddresses().Select(t => t.Trim()).Where(t => t.Length > 0))
        {
            if (!IPAddress.TryParse(text, out var ip))
            {
                ctx.Err.WriteLine($"Invalid IP address for -additional-ipaddress: \"{text}\"");
                return 1;
            }
            ips.Add(ip);
        }

        var kind = _server() ? AgentCertKind.Server : _client() ? AgentCertKind.Client : AgentCertKind.Cli;
        var request = new AgentCertRequest(kind, _dc(), _domain())
        {
            Node = _node(),
            AdditionalDnsNames = _dnsNames(),
            AdditionalIpAddresses = ips,
            Days = _days(),
        };
        var prefix = $"{request.Datacenter}-{kind.ToString().ToLowerInvariant()}-{request.Domain}";
        var index = Enumerable.Range(0, MaxIndex + 1)
            .FirstOrDefault(i => !TlsFiles.Exists(ctx, $"{prefix}-{i}.pem") && !TlsFiles.Exists(ctx, $"{prefix}-{i}-key.pem"), -1);
        if (index < 0)
        {
            ctx.Err.WriteLine("Could not find a filename that doesn't already exist");
            return 1;
        }

        var caFile = ReplaceFirst(_ca(), DomainPlaceholder, request.Domain);
        var keyFile = ReplaceFirst(_key(), DomainPlaceholder, request.Domain);
        if (TlsFiles.Read(ctx, caFile, out var error) is not { } caPem)
        {
            ctx.Err.WriteLine($"Error reading CA: {error}");
            return 1;
        }
        if (TlsFiles.Read(ctx, keyFile, out error) is not { } keyPem)
        {
            ctx.Err.WriteLine($"Error reading CA key: {error}");
            return 1;
        }
        if (kind == AgentCertKind.Server) ctx.Out.WriteLine(ServerWarning);
        ctx.Out.WriteLine($"==> Using {caFile} and {keyFile}");

        PemPair issued;
        try
        {
            using var ca = AgentTls.LoadCa(caPem, keyPem);
            issued = AgentTls.CreateCertificate(ca, request, DateTimeOffset.UtcNow);
        }
        catch (AgentTlsException e)
        {
            ctx.Err.WriteLine(e.Message);
            return 1;
        }
        var saved = TlsFiles.Save(ctx, $"{prefix}-{index}.pem", issued.CertificatePem, secret: false)
                    && TlsFiles.Save(ctx, $"{prefix}-{index}-key.pem", issued.PrivateKeyPem, secret: true);
        return saved ? 0 : 1;
    }

    /// <summary>Go's <c>strings.Replace(s, old, new, 1)</c>: only the first occurrence.</summary>
    private static string ReplaceFirst(string text, string old, string replacement)
    {
        var at = text.IndexOf(old, StringComparison.Ordinal);
        return at < 0 ? text : string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + old.Length));
    }
}
