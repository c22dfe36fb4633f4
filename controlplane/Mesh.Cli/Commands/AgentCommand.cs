using System.Collections.Immutable;
using Mesh.Agent.Config;
using Mesh.Agent.Hosting;
using Mesh.Cli.Flags;
using Mesh.Tracing;

namespace Mesh.Cli.Commands;

/// <summary>
/// <c>mesh agent</c>: runs an agent in the foreground until interrupted or told to leave. Configuration is built as
/// Consul builds it: defaults (dev defaults with <c>-dev</c>), then config files in the order given, then flags.
/// </summary>
internal static class AgentCommand
{
    private const string Usage = """
        Usage: mesh agent [options]

          Starts the Mesh agent and runs until an interrupt is received or the agent is told to leave.
          This version runs the dev agent: a single server with in-memory state (-dev).
        """;

    public static async Task<int> RunAsync(CliContext ctx, IReadOnlyList<string> args)
    {
        AgentConfig config;
        try
        {
            config = Parse(args);
        }
        catch (HelpRequestedException)
        {
            ctx.Out.Write(BuildFlags(new Options()).Help());
            return 0;
        }
        catch (Exception ex) when (ex is FlagException or ConfigException)
        {
            ctx.Err.WriteLine($"==> {ex.Message}");
            return 1;
        }

        TracingOptions tracing;
        try
        {
            tracing = Tracing(config, ctx.GetEnv);
        }
        catch (ArgumentException ex)
        {
            ctx.Err.WriteLine($"==> {TracingOptions.ErrorText(ex)}");
            return 1;
        }

        ctx.Out.WriteLine("==> Starting Mesh agent...");
        AgentHost host;
        try
        {
            host = await AgentHost.StartAsync(config, ctx.Out, ctx.Cancellation, tracing: tracing).ConfigureAwait(false);
        }
        catch (ConfigException ex)
        {
            ctx.Err.WriteLine($"==> {ex.Message}");
            return 1;
        }
        catch (IOException ex)
        {
            // Kestrel reports a port in use as an IOException.
            ctx.Err.WriteLine($"==> Error starting agent: {ex.Message}");
            return 1;
        }

        await using (host.ConfigureAwait(false))
        {
            var id = host.Identity;
            ctx.Out.WriteLine($"""
                           Version: '{typeof(AgentCommand).Assembly.GetName().Version?.ToString(3)}'
                           Node ID: '{id.NodeId}'
                         Node name: '{id.NodeName}'
                        Datacenter: '{id.Datacenter}' (Segment: '<all>')
                            Server: true (Bootstrap: {config.Bootstrap.ToString().ToLowerInvariant()})
                       Client Addr: [{config.ClientAddr}] (HTTP: {string.Join(", ", host.HttpAddresses.Select(a => a.Port))}, DNS: {(host.DnsEndpoints.Count == 0 ? -1 : host.DnsEndpoints[0].Port)})
                      Cluster Addr: {id.AdvertiseAddr} (LAN: {config.Ports.SerfLan}, WAN: {config.Ports.SerfWan})

                ==> Log data will now stream in as it occurs:
                """);
            ctx.Out.Flush();
            // SIGHUP reloads the config files, as Consul's agent does.
            using var hangup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                try
                {
                    host.ReloadAsync().GetAwaiter().GetResult();
                }
                catch (ConfigException ex)
                {
                    ctx.Err.WriteLine($"==> Failed to reload configs: {ex.Message}");
                }
            });
            try
            {
                await host.Stopped.WaitAsync(ctx.Cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Interrupted: reported below.
            }
            // The web host stops on SIGTERM by itself too, so whichever noticed first, a signal reads as a signal.
            ctx.Out.WriteLine(ctx.Cancellation.IsCancellationRequested
                ? "==> Caught signal, shutting down..."
                : "==> Graceful leave complete");
        }
        return 0;
    }

    /// <summary>The agent's service name in traces unless OTEL_SERVICE_NAME, the config or a flag names another.</summary>
    internal const string DefaultServiceName = "mesh-agent";

    /// <summary>
    /// How the agent traces: the defaults (service <see cref="DefaultServiceName"/>, the node name as
    /// <c>service.instance.id</c>), then the <c>OTEL_*</c> environment, then the <c>tracing</c> block of the config
    /// files, then the <c>-tracing-*</c> flags (already merged into <see cref="AgentConfig.Tracing"/> by <see cref="Parse"/>).
    /// </summary>
    /// <exception cref="ArgumentException">An environment variable holds a value that cannot be used; the message names it.</exception>
    internal static TracingOptions Tracing(AgentConfig config, Func<string, string?> getenv)
    {
        var defaults = new TracingOptions
        {
            ServiceName = DefaultServiceName,
            // Every agent shares the service name; the node tells them apart, as a collector's instance id.
            ResourceAttributes = ImmutableDictionary<string, string>.Empty.Add("service.instance.id", config.NodeName),
        };
        return config.Tracing.ApplyTo(TracingOptions.FromEnvironment(getenv, defaults));
    }

    internal static AgentConfig Parse(IReadOnlyList<string> args)
    {
        var o = new Options();
        var flags = BuildFlags(o);
        flags.Parse(args);
        if (flags.Args.Count > 0) throw new FlagException($"unexpected argument: {flags.Args[0]}");
        foreach (var unsupported in new[] { "join", "retry-join", "join-wan", "retry-join-wan", "encrypt", "syslog" })
        {
            if (flags.Given.Contains(unsupported))
                throw new FlagException($"-{unsupported} needs gossip, which this version does not have yet");
        }

        var config = o.Dev()
            ? new AgentConfig
            {
                DevMode = true,
                Server = true,
                Bootstrap = true,
                PrettyJson = true,
                LogLevel = "debug",
                BindAddr = "127.0.0.1",
                Ui = true,
            }
            : new AgentConfig();
        config = ConfigLoader.ApplyPaths(config, o.ConfigPaths);

        var g = flags.Given;
        var tracing = config.Tracing;
        foreach (var (name, value) in o.Tracing)
        {
            if (!g.Contains(name)) continue;
            try
            {
                // Checked with the parser the config block and environment use, so the error names the flag.
                _ = new TracingOptions().WithFlag(name, value());
            }
            catch (ArgumentException ex)
            {
                throw new FlagException(TracingOptions.ErrorText(ex));
            }

            tracing = tracing.With(name, value());
        }

        string S(string name, Func<string> f, string current) => g.Contains(name) ? f() : current;
        int I(string name, Func<int> f, int current) => g.Contains(name) ? f() : current;
        bool B(string name, Func<bool> f, bool current) => g.Contains(name) ? f() : current;
        return config with
        {
            Server = B("server", o.Server, config.Server),
            Bootstrap = B("bootstrap", o.Bootstrap, config.Bootstrap),
            BootstrapExpect = I("bootstrap-expect", o.BootstrapExpect, config.BootstrapExpect),
            BindAddr = S("bind", o.Bind, config.BindAddr),
            AdvertiseAddr = S("advertise", o.Advertise, config.AdvertiseAddr),
            ClientAddr = S("client", o.Client, config.ClientAddr),
            NodeName = S("node", o.Node, config.NodeName),
            NodeId = S("node-id", o.NodeId, config.NodeId),
            DisableHostNodeId = B("disable-host-node-id", o.DisableHostNodeId, config.DisableHostNodeId),
            Datacenter = o.Datacenter ?? config.Datacenter,
            DataDir = S("data-dir", o.DataDir, config.DataDir),
            LogLevel = S("log-level", o.LogLevel, config.LogLevel),
            LogJson = B("log-json", o.LogJson, config.LogJson),
            PidFile = S("pid-file", o.PidFile, config.PidFile),
            Ui = B("ui", o.Ui, config.Ui),
            Domain = S("domain", o.Domain, config.Domain),
            Dns = config.Dns with
            {
                AltDomain = S("alt-domain", o.AltDomain, config.Dns.AltDomain),
                // Recursors from flags come after those from files, as in Consul.
                Recursors = [.. config.Dns.Recursors, .. o.Recursors()],
            },
            EnableScriptChecks = B("enable-script-checks", o.EnableScriptChecks, config.EnableScriptChecks),
            Tracing = tracing,
            Ports = config.Ports with
            {
                Http = I("http-port", o.HttpPort, config.Ports.Http),
                Https = I("https-port", o.HttpsPort, config.Ports.Https),
                Dns = I("dns-port", o.DnsPort, config.Ports.Dns),
                Grpc = I("grpc-port", o.GrpcPort, config.Ports.Grpc),
                GrpcTls = I("grpc-tls-port", o.GrpcTlsPort, config.Ports.GrpcTls),
                Server = I("server-port", o.ServerPort, config.Ports.Server),
                SerfLan = I("serf-lan-port", o.SerfLanPort, config.Ports.SerfLan),
                SerfWan = I("serf-wan-port", o.SerfWanPort, config.Ports.SerfWan),
            },
        };
    }

    private static FlagSet BuildFlags(Options o)
    {
        var f = new FlagSet(Usage);
        o.Dev = f.Bool("dev", false, "Starts the agent in development mode: a single server with in-memory state.");
        o.Server = f.Bool("server", false, "Switches the agent to server mode.");
        o.Bootstrap = f.Bool("bootstrap", false, "Sets server to bootstrap mode.");
        o.BootstrapExpect = f.Int("bootstrap-expect", 0, "Sets server to expect bootstrap mode with this many servers.");
        o.Bind = f.String("bind", "", "Sets the bind address for cluster communication.");
        o.Advertise = f.String("advertise", "", "Sets the advertise address to use.");
        o.Client = f.String("client", "", "Sets the address to bind for client access (HTTP API); space separated for several.");
        o.Node = f.String("node", "", "Name of this node. Must be unique in the cluster.");
        o.NodeId = f.String("node-id", "", "A unique ID for this node across space and time (a UUID).");
        o.DisableHostNodeId = f.Bool("disable-host-node-id", true, "Do not derive the node ID from the host.");
        f.Custom("datacenter", "Datacenter of the agent.", v => o.Datacenter = v);
        f.Custom("dc", "Alias of -datacenter.", v => o.Datacenter = v);
        o.DataDir = f.String("data-dir", "", "Path to a data directory to store agent state.");
        f.Custom("config-file", "Path to a JSON file to read configuration from. May be given several times.", v => o.ConfigPaths.Add(v));
        f.Custom("config-dir", "Path to a directory of *.json config files, read in name order. May be given several times.",
            v => o.ConfigPaths.Add(Directory.Exists(v) ? v : throw new FlagException($"config dir \"{v}\" does not exist")));
        f.List("join", "Address of an agent to join at start time.");
        f.List("retry-join", "Address of an agent to join at start time with retries enabled.");
        f.List("join-wan", "Address of a WAN agent to join at start time.");
        f.List("retry-join-wan", "Address of a WAN agent to join with retries.");
        f.String("retry-interval", "30s", "Time to wait between join attempts.");
        f.Int("retry-max", 0, "Maximum number of join attempts (0: unlimited).");
        f.Bool("rejoin", false, "Ignores a previous leave and attempts to rejoin the cluster.");
        f.String("encrypt", "", "Provides the gossip encryption key.");
        o.LogLevel = f.String("log-level", "info", "Log level of the agent: trace, debug, info, warn, err.");
        o.LogJson = f.Bool("log-json", false, "Output logs in JSON format.");
        f.Bool("syslog", false, "Enables logging to syslog.");
        o.PidFile = f.String("pid-file", "", "Path to file to store agent PID.");
        o.Ui = f.Bool("ui", false, "Enables the built-in web UI server.");
        o.EnableScriptChecks = f.Bool("enable-script-checks", false, "Enables health check scripts (Args) for services and checks.");
        o.Domain = f.String("domain", "consul.", "Domain to use for DNS interface.");
        o.AltDomain = f.String("alt-domain", "", "Alternate domain to use for DNS interface.");
        o.Recursors = f.List("recursor", "Address of an upstream DNS server (ip, ip:port or host). May be given several times.");
        o.HttpPort = f.Int("http-port", 8500, "Sets the HTTP API port to listen on (0: a free port).");
        o.HttpsPort = f.Int("https-port", -1, "Sets the HTTPS API port to listen on.");
        o.DnsPort = f.Int("dns-port", 8600, "DNS port to use.");
        o.GrpcPort = f.Int("grpc-port", 8502, "Sets the gRPC (xDS) port to listen on, plaintext HTTP/2 (0: a free port, -1: off).");
        o.GrpcTlsPort = f.Int("grpc-tls-port", -1, "Sets the gRPC (xDS) port to listen on with TLS; needs tls.grpc cert_file and key_file.");
        o.ServerPort = f.Int("server-port", 8300, "Sets the server port to listen on.");
        o.SerfLanPort = f.Int("serf-lan-port", 8301, "Sets the Serf LAN port to listen on.");
        o.SerfWanPort = f.Int("serf-wan-port", 8302, "Sets the Serf WAN port to listen on.");
        foreach (var flag in TracingOptions.Flags)
        {
            o.Tracing.Add((flag.Name, f.String(flag.Name, "", flag.Help + " Wins over the tracing block of the config files.")));
        }

        return f;
    }

    private sealed class Options
    {
        public Func<bool> Dev = null!, Server = null!, Bootstrap = null!, DisableHostNodeId = null!, LogJson = null!, Ui = null!,
            EnableScriptChecks = null!;
        public Func<int> BootstrapExpect = null!, HttpPort = null!, HttpsPort = null!, DnsPort = null!, GrpcPort = null!, GrpcTlsPort = null!,
            ServerPort = null!, SerfLanPort = null!, SerfWanPort = null!;
        public Func<string> Bind = null!, Advertise = null!, Client = null!, Node = null!, NodeId = null!, DataDir = null!,
            LogLevel = null!, PidFile = null!, Domain = null!, AltDomain = null!;
        public Func<IReadOnlyList<string>> Recursors = null!;
        public string? Datacenter;
        public List<string> ConfigPaths { get; } = [];
        public List<(string Name, Func<string> Value)> Tracing { get; } = [];
    }
}
