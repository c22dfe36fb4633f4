namespace Mesh.Agent.Config;

/// <summary>Listening ports; -1 turns a listener off, 0 asks the OS for a free port.</summary>
public sealed record PortsConfig
{
    public int Http { get; init; } = 8500;
    public int Https { get; init; } = -1;
    public int Dns { get; init; } = 8600;
    public int Grpc { get; init; } = 8502;
    /// <summary>gRPC over TLS (<c>grpc_tls</c>): off unless set, and then <c>tls.grpc</c> (or <c>tls.defaults</c>) must name a certificate.</summary>
    public int GrpcTls { get; init; } = -1;
    public int Server { get; init; } = 8300;
    public int SerfLan { get; init; } = 8301;
    public int SerfWan { get; init; } = 8302;
}

/// <summary>The agent's configuration, merged from defaults, config files and flags (later wins).</summary>
public sealed record AgentConfig
{
    public bool DevMode { get; init; }
    public bool Server { get; init; }
    public bool Bootstrap { get; init; }
    public int BootstrapExpect { get; init; }
    public string Datacenter { get; init; } = "dc1";
    public string NodeName { get; init; } = Environment.MachineName.ToLowerInvariant();
    /// <summary>Node ID (a UUID); empty means "make one".</summary>
    public string NodeId { get; init; } = "";
    public bool DisableHostNodeId { get; init; } = true;
    /// <summary>Addresses the HTTP (and later DNS) listeners bind, space separated as Consul's <c>client_addr</c>.</summary>
    public string ClientAddr { get; init; } = "127.0.0.1";
    /// <summary>Address for cluster communication (server RPC, gossip).</summary>
    public string BindAddr { get; init; } = "0.0.0.0";
    /// <summary>Address advertised to other nodes; defaults to the bind address (or 127.0.0.1 when that is 0.0.0.0).</summary>
    public string AdvertiseAddr { get; init; } = "";
    public PortsConfig Ports { get; init; } = new();
    public string DataDir { get; init; } = "";
    public string Domain { get; init; } = "consul.";
    /// <summary>The DNS interface's settings (<c>dns_config</c>, <c>alt_domain</c>, <c>recursors</c>).</summary>
    public DnsConfig Dns { get; init; } = new();
    /// <summary>Addresses the DNS server binds (<c>addresses.dns</c>); empty means the client addresses.</summary>
    public string DnsAddr { get; init; } = "";
    public string LogLevel { get; init; } = "info";
    public bool LogJson { get; init; }
    public string PidFile { get; init; } = "";
    public bool Ui { get; init; }
    /// <summary>Pretty-print every JSON response (always on in dev mode, as Consul does).</summary>
    public bool PrettyJson { get; init; }
    /// <summary>How long KV tombstones are kept before they are reaped.</summary>
    public TimeSpan TombstoneTtl { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>How often the reaper looks for expired tombstones.</summary>
    public TimeSpan TombstoneTtlGranularity { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Smallest session TTL accepted.</summary>
    public TimeSpan SessionTtlMin { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The config files read, after expanding directories.</summary>
    public IReadOnlyList<string> ConfigFiles { get; init; } = [];

    /// <summary>The <c>-config-file</c> and <c>-config-dir</c> arguments as given, in order: what a reload reads again.</summary>
    public IReadOnlyList<string> ConfigPaths { get; init; } = [];
    /// <summary>Service definitions from config files (<c>service</c> and <c>services</c>), in file order.</summary>
    public IReadOnlyList<ConfigDefinition> Services { get; init; } = [];

    /// <summary>Check definitions from config files (<c>check</c> and <c>checks</c>), in file order.</summary>
    public IReadOnlyList<ConfigDefinition> Checks { get; init; } = [];

    /// <summary>Whether script checks (<c>Args</c>) may run: off by default, as in Consul, since they run commands.</summary>
    public bool EnableScriptChecks { get; init; }

    /// <summary>What a connection no intention matches gets: <c>allow</c>, <c>deny</c>, or empty for the ACL default (allow).</summary>
    public string DefaultIntentionPolicy { get; init; } = "";

    /// <summary>Connect: the CA and the endpoints that use it.</summary>
    public ConnectConfig Connect { get; init; } = new();

    /// <summary>The certificate the gRPC TLS port serves (<c>tls.grpc</c>, falling back to <c>tls.defaults</c>).</summary>
    public TlsFiles GrpcTls { get; init; } = new();

    /// <summary>
    /// The <c>tracing</c> block merged with the <c>-tracing-*</c> flags; applied over the <c>OTEL_*</c> environment
    /// when the agent starts (a reload does not change tracing).
    /// </summary>
    public TracingSettings Tracing { get; init; } = new();

    /// <summary>The address other nodes reach this one on.</summary>
    public string EffectiveAdvertiseAddr =>
        AdvertiseAddr.Length > 0 ? AdvertiseAddr : BindAddr is "0.0.0.0" or "::" or "" ? "127.0.0.1" : BindAddr;
}

/// <summary>A service or check definition from a config file: its JSON, and where it came from for error messages.</summary>
/// <param name="Source">File and position, e.g. <c>web.json: services[1]</c>.</param>
/// <param name="Json">The definition as written.</param>
public sealed record ConfigDefinition(string Source, string Json);

/// <summary>A listener's certificate: PEM files, as Consul's <c>tls</c> stanzas name them.</summary>
public sealed record TlsFiles
{
    /// <summary><c>cert_file</c>: the certificate (chain), PEM.</summary>
    public string CertFile { get; init; } = "";

    /// <summary><c>key_file</c>: its private key, PEM.</summary>
    public string KeyFile { get; init; } = "";

    /// <summary><c>ca_file</c>: the CA that signed it (what clients such as Envoy's bootstrap trust), PEM.</summary>
    public string CaFile { get; init; } = "";
}

/// <summary>The <c>connect</c> block: whether Connect runs, and the CA's provider and settings when it is first made.</summary>
public sealed record ConnectConfig
{
    /// <summary>Whether Connect runs (on in dev mode, the one mode this version has, as Consul's <c>-dev</c> does).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The CA provider (<c>ca_provider</c>): <c>consul</c>, the built-in CA.</summary>
    public string CaProvider { get; init; } = "consul";

    /// <summary>The CA's settings (<c>ca_config</c>) as a JSON object; they apply when the CA is first made.</summary>
    public string CaConfigJson { get; init; } = "{}";
}
