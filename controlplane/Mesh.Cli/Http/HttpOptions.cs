using Mesh.Cli.Flags;

namespace Mesh.Cli.Http;

/// <summary>
/// The HTTP client flags every agent-talking command shares, registered once here and resolved against the
/// environment (<c>MESH_*</c> first, then Consul's <c>CONSUL_*</c> names) into an <see cref="ApiConfig"/>.
/// </summary>
internal sealed class HttpOptions
{
    private readonly Func<string> _address, _token, _tokenFile, _caFile, _caPath, _clientCert, _clientKey, _tlsServerName;
    private readonly Func<string>? _datacenter;
    private readonly Func<bool>? _stale;

    private HttpOptions(FlagSet flags, bool serverFlags)
    {
        var previous = flags.Group;
        flags.Group = FlagSet.HttpGroup;
        _address = flags.String("http-addr", "",
            "The `address` and port of the Mesh HTTP agent. The value can be an IP address or DNS address, but it must " +
            "also include the port. This can also be specified via the MESH_HTTP_ADDR (or CONSUL_HTTP_ADDR) environment " +
            "variable. The default value is http://127.0.0.1:8500. The scheme can also be set to HTTPS by setting the " +
            "environment variable MESH_HTTP_SSL=true.", "value");
        _token = flags.String("token", "",
            "ACL token to use in the request. This can also be specified via the MESH_HTTP_TOKEN (or CONSUL_HTTP_TOKEN) " +
            "environment variable. If unspecified, the query will default to the token of the agent at the HTTP address.", "value");
        _tokenFile = flags.String("token-file", "",
            "File containing the ACL token to use in the request instead of one specified via the -token argument or " +
            "MESH_HTTP_TOKEN environment variable. This can also be specified via the MESH_HTTP_TOKEN_FILE environment variable.", "value");
        _caFile = flags.String("ca-file", "",
            "Path to a CA file to use for TLS when communicating with Mesh. This can also be specified via the " +
            "MESH_CACERT environment variable.", "value");
        _caPath = flags.String("ca-path", "",
            "Path to a directory of CA certificates to use for TLS when communicating with Mesh. This can also be " +
            "specified via the MESH_CAPATH environment variable.", "value");
        _clientCert = flags.String("client-cert", "",
            "Path to a client cert file to use for TLS when 'verify_incoming' is enabled. This can also be specified " +
            "via the MESH_CLIENT_CERT environment variable.", "value");
        _clientKey = flags.String("client-key", "",
            "Path to a client key file to use for TLS when 'verify_incoming' is enabled. This can also be specified " +
            "via the MESH_CLIENT_KEY environment variable.", "value");
        _tlsServerName = flags.String("tls-server-name", "",
            "The server name to use as the SNI host when connecting via TLS. This can also be specified via the " +
            "MESH_TLS_SERVER_NAME environment variable.", "value");
        if (serverFlags)
        {
            _datacenter = flags.String("datacenter", "",
                "Name of the datacenter to query. If unspecified, this will default to the datacenter of the queried agent.", "value");
            flags.Alias("dc", "datacenter");
            _stale = flags.Bool("stale", false,
                "Permit any Mesh server (non-leader) to respond to this request. This allows for lower latency and higher " +
                "throughput, but can result in stale data. This option has no effect on non-read operations. The default " +
                "value is false.");
        }
        flags.Group = previous;
    }

    /// <summary>
    /// Registers the client flags (<c>-http-addr -token -token-file -ca-file -ca-path -client-cert -client-key
    /// -tls-server-name</c>) and, with <paramref name="serverFlags"/>, <c>-datacenter</c> (alias <c>-dc</c>) and
    /// <c>-stale</c>: the same split Consul makes between its ClientFlags and ServerFlags.
    /// </summary>
    public static HttpOptions Register(FlagSet flags, bool serverFlags) => new(flags, serverFlags);

    /// <summary>Whether <c>-stale</c> was given.</summary>
    public bool Stale => _stale?.Invoke() ?? false;

    /// <summary>The <c>-datacenter</c> flag, or "" when absent.</summary>
    public string Datacenter => _datacenter?.Invoke() ?? "";

    /// <summary>
    /// The configuration to build an <see cref="ApiClient"/> from: flags win over <c>MESH_*</c> variables, which win
    /// over <c>CONSUL_*</c> ones, which win over the defaults.
    /// </summary>
    /// <exception cref="ArgumentException">The address is malformed or the token file unreadable.</exception>
    public ApiConfig Resolve(CliContext ctx)
    {
        string? Env(string suffix) => NonEmpty(ctx.GetEnv("MESH_" + suffix)) ?? NonEmpty(ctx.GetEnv("CONSUL_" + suffix));
        string? Pick(Func<string> flag, string envSuffix) => NonEmpty(flag()) ?? Env(envSuffix);

        var useTls = bool.TryParse(Env("HTTP_SSL"), out var ssl) && ssl;
        var config = ApiConfig.FromAddress(Pick(_address, "HTTP_ADDR") ?? ApiConfig.DefaultAddress, useTls);

        var token = NonEmpty(_token());
        var tokenFile = NonEmpty(_tokenFile());
        if (token is null && tokenFile is null) token = Env("HTTP_TOKEN");
        if (token is null) tokenFile ??= Env("HTTP_TOKEN_FILE");
        if (token is null && tokenFile is not null)
        {
            try { token = File.ReadAllText(tokenFile).Trim(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"Error loading token file: {e.Message}", e);
            }
        }

        var verify = !bool.TryParse(Env("HTTP_SSL_VERIFY"), out var v) || v;
        return config with
        {
            Token = token,
            Datacenter = NonEmpty(Datacenter),
            Tls = new TlsSettings
            {
                CaFile = Pick(_caFile, "CACERT"),
                CaPath = Pick(_caPath, "CAPATH"),
                ClientCert = Pick(_clientCert, "CLIENT_CERT"),
                ClientKey = Pick(_clientKey, "CLIENT_KEY"),
                ServerName = Pick(_tlsServerName, "TLS_SERVER_NAME"),
                Verify = verify,
            },
        };
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
