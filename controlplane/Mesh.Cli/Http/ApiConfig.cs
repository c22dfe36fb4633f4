namespace Mesh.Cli.Http;

/// <summary>
/// Where and how to reach an agent's HTTP API: the parsed address, token, datacenter and TLS material, resolved
/// from flags and environment by <see cref="HttpOptions"/>.
/// </summary>
internal sealed record ApiConfig
{
    /// <summary>The default agent address, as Consul's.</summary>
    public const string DefaultAddress = "127.0.0.1:8500";

    /// <summary><c>http</c>, <c>https</c> or <c>unix</c>.</summary>
    public string Scheme { get; init; } = "http";

    /// <summary><c>host:port</c>, or the socket path for <c>unix</c>.</summary>
    public string Address { get; init; } = DefaultAddress;

    public string? Token { get; init; }
    public string? Datacenter { get; init; }
    public TlsSettings Tls { get; init; } = new();

    /// <summary>The base URI requests are made against; a unix socket is reached through a fixed placeholder host.</summary>
    public Uri BaseUri => Scheme == "unix" ? new Uri("http://localhost/") : new Uri($"{Scheme}://{Address}/");

    /// <summary>
    /// Parses an address the way Consul's API client does: <c>host:port</c> (http unless <paramref name="useTls"/>),
    /// <c>http://host:port</c>, <c>https://host:port</c> or <c>unix:///path/to/socket</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The scheme is not one of those, or the address is empty.</exception>
    public static ApiConfig FromAddress(string address, bool useTls)
    {
        var scheme = useTls ? "https" : "http";
        var rest = address;
        var sep = address.IndexOf("://", StringComparison.Ordinal);
        if (sep >= 0)
        {
            scheme = address[..sep];
            rest = address[(sep + 3)..];
            if (scheme is not ("http" or "https" or "unix"))
                throw new ArgumentException($"Unknown protocol scheme: {scheme}");
        }
        rest = scheme == "unix" ? rest : rest.TrimEnd('/');
        if (rest.Length == 0) throw new ArgumentException($"Invalid address: \"{address}\"");
        if (scheme != "unix" && !Uri.TryCreate($"{scheme}://{rest}/", UriKind.Absolute, out _))
            throw new ArgumentException($"Invalid address: \"{address}\"");
        return new ApiConfig { Scheme = scheme, Address = rest };
    }
}

/// <summary>TLS material for an https agent address (<c>-ca-file</c>, <c>-client-cert</c>, ...).</summary>
internal sealed record TlsSettings
{
    public string? CaFile { get; init; }
    public string? CaPath { get; init; }
    public string? ClientCert { get; init; }
    public string? ClientKey { get; init; }
    public string? ServerName { get; init; }

    /// <summary>False skips server certificate verification (<c>CONSUL_HTTP_SSL_VERIFY=false</c>).</summary>
    public bool Verify { get; init; } = true;
}
