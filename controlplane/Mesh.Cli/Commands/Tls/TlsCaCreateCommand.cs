using Mesh.Ca.Certificates;

namespace Mesh.Cli.Commands.Tls;

/// <summary>
/// <c>mesh tls ca create</c>: a new self-signed CA for agent TLS, written to <c>&lt;domain&gt;-agent-ca.pem</c> and
/// <c>&lt;domain&gt;-agent-ca-key.pem</c> in the working directory; existing files are never replaced.
/// </summary>
internal sealed class TlsCaCreateCommand : Command
{
    private const string Usage = """
        Usage: mesh tls ca create [options]

          Creates a new CA for TLS between Mesh agents, and its private key:

              $ mesh tls ca create
              ==> Saved consul-agent-ca.pem
              ==> Saved consul-agent-ca-key.pem

          The files go to the current directory and are named after -domain;
          existing files are never overwritten.
        """;

    private readonly Func<int> _days;
    private readonly Func<string> _domain, _clusterId, _commonName;
    private readonly Func<bool> _constraint;
    private readonly Func<IReadOnlyList<string>> _additionalConstraints;

    public TlsCaCreateCommand(CliServices services) : base(services, Usage)
    {
        _days = Flags.Int("days", 1825, "Number of days the CA is valid for. Defaults to 1825 days (about 5 years).");
        _constraint = Flags.Bool("name-constraint", false,
            "Adds X.509 name constraints to the CA, so that it only signs certificates for localhost, the -domain and " +
            "the domains given with -additional-name-constraint. If the UI is served over HTTPS, add its DNS name too: " +
            "constraints cannot be added later. Defaults to false.");
        _domain = Flags.String("domain", "consul",
            "The DNS domain of the cluster, as the agents are configured with it. It names the files, and is a " +
            "permitted domain with -name-constraint. Defaults to consul.");
        _additionalConstraints = Flags.List("additional-name-constraint",
            "Another DNS domain the CA may sign for. Can be given more than once. Only used with -name-constraint.");
        _clusterId = Flags.String("cluster-id", "",
            "The ID of the cluster. When set, the CA carries the SPIFFE URI spiffe://<cluster-id>.<domain>.");
        _commonName = Flags.String("common-name", "", "The common name of the CA. Defaults to \"Mesh Agent CA <serial number>\".");
    }

    public override string Synopsis => "Create a new Mesh CA";

    protected override Task<int> ExecuteAsync(CliContext ctx) => Task.FromResult(Run(ctx));

    private int Run(CliContext ctx)
    {
        if (Flags.Args.Count > 0)
        {
            ctx.Err.WriteLine($"Too many arguments (expected 0, got {Flags.Args.Count})");
            return 1;
        }
        var domain = _domain();
        var certFile = $"{domain}-agent-ca.pem";
        var keyFile = $"{domain}-agent-ca-key.pem";
        foreach (var file in new[] { certFile, keyFile })
        {
            if (TlsFiles.Exists(ctx, file))
            {
                ctx.Err.WriteLine($"{file} already exists.");
                return 1;
            }
        }

        var options = new AgentCaOptions
        {
            Days = _days(),
            Domain = domain,
            CommonName = _commonName(),
            ClusterId = _clusterId(),
            // Consul's order: the additional domains, then the cluster's domain and localhost.
            PermittedDnsDomains = _constraint() ? [.. _additionalConstraints(), domain, "localhost"] : [],
        };
        PemPair ca;
        try
        {
            ca = AgentTls.CreateCa(options, DateTimeOffset.UtcNow);
        }
        catch (AgentTlsException e)
        {
            ctx.Err.WriteLine(e.Message);
            return 1;
        }
        var saved = TlsFiles.Save(ctx, certFile, ca.CertificatePem, secret: false) && TlsFiles.Save(ctx, keyFile, ca.PrivateKeyPem, secret: true);
        return saved ? 0 : 1;
    }
}
