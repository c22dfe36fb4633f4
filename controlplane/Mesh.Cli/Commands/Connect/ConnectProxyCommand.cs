using System.Globalization;
using System.Net;
using System.Text.Json;
using Mesh.Cli.Http;
using Mesh.Sidecar.Hosting;
using Mesh.Tracing;
using Microsoft.Extensions.Logging;

namespace Mesh.Cli.Commands.Connect;

/// <summary>
/// <c>mesh connect proxy</c>: runs the native sidecar proxy for a <c>connect-proxy</c> registered on the local agent
/// (<c>-sidecar-for</c> or <c>-proxy-id</c>), or registers one first in the ad-hoc form
/// (<c>-service -upstream -listen -register</c>) and deregisters it on exit. Its configuration comes from the agent
/// over xDS, exactly as Envoy's would. Flags follow Consul's <c>connect proxy</c>.
/// </summary>
internal sealed class ConnectProxyCommand : Command
{
    private const string Usage = """
        Usage: mesh connect proxy [options]

          Starts the native Connect sidecar proxy. It takes its listeners, clusters,
          routes, endpoints and certificates from the local agent over xDS, as Envoy
          does, and serves mTLS, intentions, upstreams on local ports and traffic
          splits without Envoy.

          Run the sidecar registered for the local service instance "web":

              $ mesh connect proxy -sidecar-for web

          Register a proxy for "web" with one upstream and run it:

              $ mesh connect proxy -service web -service-addr 127.0.0.1:8080 \
                  -listen 127.0.0.1:21000 -upstream db:9191 -register

          Trace every proxied request, exporting to Jaeger's OTLP port on this host:

              $ mesh connect proxy -sidecar-for web -tracing-exporter otlp
        """;

    private const string DefaultGrpcPort = "8502";

    private readonly HttpOptions _http;
    private readonly Func<string> _proxyId, _sidecarFor, _service, _serviceAddr, _listen, _grpcAddr, _grpcCaFile, _logLevel, _adminBind;
    private readonly Func<IReadOnlyList<string>> _upstreams;
    private readonly Func<bool> _register;
    private readonly Func<TimeSpan> _drainTimeout;
    private readonly List<(string Name, Func<string> Value)> _tracing = [];

    public ConnectProxyCommand(CliServices services) : base(services, Usage)
    {
        _http = HttpOptions.Register(Flags, serverFlags: false);
        _proxyId = Flags.String("proxy-id", "", ProxyRegistration.ProxyIdHelp);
        _sidecarFor = Flags.String("sidecar-for", "", ProxyRegistration.SidecarForHelp);
        _service = Flags.String("service", "",
            "Name of the service this proxy represents, for the ad-hoc form; requires -register.");
        _serviceAddr = Flags.String("service-addr", "",
            "Address of the local service (<ip>:<port>) the proxy forwards inbound connections to, for the ad-hoc form.");
        _upstreams = Flags.List("upstream",
            "Upstream service to expose on a local port, as <name>:<port> (on 127.0.0.1), for the ad-hoc form. May be given more than once.");
        _listen = Flags.String("listen", "",
            "Address (<ip>:<port>) of the proxy's public mTLS listener, for the ad-hoc form.");
        _register = Flags.Bool("register", false,
            "Register a connect-proxy service named <service>-proxy for the ad-hoc form, with a TCP check on -listen; it " +
            "is deregistered on exit.");
        _grpcAddr = Flags.String("grpc-addr", "",
            "Set the agent's gRPC address and port (in http(s)://host:port format). Alternatively, you can specify " +
            "MESH_GRPC_ADDR (or CONSUL_GRPC_ADDR) in ENV. By default the agent's configured gRPC port on the HTTP " +
            "address's host is used, or 8502.");
        _grpcCaFile = Flags.String("grpc-ca-file", "",
            "Path to a CA file that verifies the agent's gRPC certificate; giving one turns TLS on. Also " +
            "MESH_GRPC_CACERT (or CONSUL_GRPC_CACERT). With an https:// gRPC address and no gRPC CA, -ca-file is used.");
        _logLevel = Flags.String("log-level", "info", "The log level: trace, debug, info, warn or error.");
        _adminBind = Flags.String("admin-bind", "127.0.0.1:19000",
            "The address:port of the admin server (/metrics for Prometheus, /ready, /config_dump). Port 0 picks a free " +
            "port, which is logged. -metrics-addr is an alias. Keep it off untrusted networks: /config_dump describes the proxy's configuration.");
        Flags.Alias("metrics-addr", "admin-bind");
        _drainTimeout = Flags.Duration("drain-timeout", TimeSpan.FromSeconds(5),
            "How long shutdown (SIGINT/SIGTERM) waits for open connections and requests to finish.");
        foreach (var flag in TracingOptions.Flags)
        {
            _tracing.Add((flag.Name, Flags.String(flag.Name, "", flag.Help + " The service name defaults to the proxy's service name.")));
        }
    }

    public override string Synopsis => "Runs the native Connect sidecar proxy";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count > 0)
        {
            ctx.Err.WriteLine($"Too many arguments (expected none, got {Flags.Args.Count})");
            return 1;
        }

        if (!TryLogLevel(_logLevel(), out var level))
        {
            ctx.Err.WriteLine($"Invalid -log-level \"{_logLevel()}\": use trace, debug, info, warn or error");
            return 1;
        }

        if (_drainTimeout() < TimeSpan.Zero)
        {
            ctx.Err.WriteLine("-drain-timeout must not be negative");
            return 1;
        }

        try
        {
            _ = SidecarHost.ParseBind(_adminBind());
        }
        catch (SidecarStartException e)
        {
            ctx.Err.WriteLine(e.Message);
            return 1;
        }

        // Tracing settings are checked before anything is registered, so a typo costs no round trip to the agent.
        if (!TryTracing(ctx, "", out _)) return 1;

        string? Setting(Func<string> flag, params string[] envNames) => ProxyRegistration.Setting(ctx, flag, envNames);

        var proxyId = Setting(_proxyId, "CONNECT_PROXY_ID");
        var sidecarFor = Setting(_sidecarFor, "CONNECT_SIDECAR_FOR");
        var service = Setting(_service);
        AdHoc? adHoc = null;
        if (service is not null)
        {
            if (proxyId is not null || sidecarFor is not null)
            {
                ctx.Err.WriteLine("-service cannot be combined with -proxy-id or -sidecar-for");
                return 1;
            }

            if (!_register())
            {
                ctx.Err.WriteLine("-service needs -register: the native proxy's configuration comes from the agent over xDS, " +
                                  "so the proxy must be registered as a connect-proxy service first");
                return 1;
            }

            adHoc = ParseAdHoc(ctx, service);
            if (adHoc is null) return 1;
            proxyId = adHoc.Id;
        }
        else if (_register() || _upstreams().Count > 0 || _listen().Length > 0 || _serviceAddr().Length > 0)
        {
            ctx.Err.WriteLine("-register, -upstream, -listen and -service-addr belong to the ad-hoc form and need -service");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;

        string proxyService;
        Uri grpc;
        AdHoc? registered = null;
        try
        {
            if (adHoc is not null)
            {
                await client.Agent.ServiceRegisterAsync(adHoc.Definition, ctx.Cancellation).ConfigureAwait(false);
                registered = adHoc;
                ctx.Out.WriteLine($"Registered service {adHoc.Id} for {service}");
            }
            else
            {
                if (proxyId is null && sidecarFor is not null)
                    proxyId = await ProxyRegistration.LookupSidecarAsync(client, sidecarFor, ctx.Cancellation).ConfigureAwait(false);
                if (proxyId is null)
                {
                    ctx.Err.WriteLine("No proxy ID specified. One of -proxy-id, -sidecar-for or -service is required");
                    return 1;
                }
            }

            var proxy = await ProxyRegistration.FetchAsync(client, proxyId!, ctx.Cancellation).ConfigureAwait(false);
            proxyService = proxy.Service;
            grpc = await GrpcAddressAsync(ctx, client, Setting(_grpcAddr, "MESH_GRPC_ADDR", "CONSUL_GRPC_ADDR")).ConfigureAwait(false);
        }
        catch (ProxyLookupException e)
        {
            ctx.Err.WriteLine(e.Message);
            await DeregisterAsync(ctx, client, registered).ConfigureAwait(false);
            return 1;
        }
        catch (SettingException e)
        {
            ctx.Err.WriteLine(e.Message);
            await DeregisterAsync(ctx, client, registered).ConfigureAwait(false);
            return 1;
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error connecting to Mesh agent: {e.Message}");
            await DeregisterAsync(ctx, client, registered).ConfigureAwait(false);
            return 1;
        }

        var caFile = Setting(_grpcCaFile, "MESH_GRPC_CACERT", "CONSUL_GRPC_CACERT");
        if (caFile is null && grpc.Scheme == Uri.UriSchemeHttps) caFile = client.Config.Tls.CaFile;
        if (caFile is not null && grpc.Scheme == Uri.UriSchemeHttp) grpc = new UriBuilder(grpc) { Scheme = Uri.UriSchemeHttps }.Uri;
        // The proxy's spans carry its service name (web-sidecar-proxy), unless the environment or a flag says otherwise.
        _ = TryTracing(ctx, proxyService.Length > 0 ? proxyService : proxyId!, out var tracing);
        var options = new SidecarOptions
        {
            ProxyId = proxyId!,
            ProxyService = proxyService,
            Tracing = tracing,
            AgentGrpcAddress = grpc,
            AgentCaFile = caFile,
            Token = client.Config.Token,
            AdminBind = _adminBind(),
            DrainTimeout = _drainTimeout(),
            LogLevel = level,
        };
        try
        {
            return await Services.SidecarRunner.RunAsync(ctx, options).ConfigureAwait(false);
        }
        finally
        {
            await DeregisterAsync(ctx, client, registered).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The proxy's tracing: <paramref name="serviceName"/> by default, then the <c>OTEL_*</c> environment, then the
    /// <c>-tracing-*</c> flags. A value that cannot be used is printed naming its variable or flag.
    /// </summary>
    private bool TryTracing(CliContext ctx, string serviceName, out TracingOptions options)
    {
        options = new TracingOptions();
        try
        {
            options = TracingOptions.FromEnvironment(ctx.GetEnv,
                serviceName.Length > 0 ? new TracingOptions { ServiceName = serviceName } : new TracingOptions());
            foreach (var (name, value) in _tracing)
            {
                if (Flags.Given.Contains(name)) options = options.WithFlag(name, value());
            }

            return true;
        }
        catch (ArgumentException e)
        {
            ctx.Err.WriteLine(TracingOptions.ErrorText(e));
            return false;
        }
    }

    /// <summary>The ad-hoc proxy: its ID and the registration body.</summary>
    private sealed record AdHoc(string Id, byte[] Definition);

    private AdHoc? ParseAdHoc(CliContext ctx, string service)
    {
        if (_listen().Length == 0)
        {
            ctx.Err.WriteLine("-register needs -listen <ip>:<port> for the proxy's public listener");
            return null;
        }

        if (!TrySplit(_listen(), out var listenHost, out var listenPort))
        {
            ctx.Err.WriteLine($"Invalid -listen \"{_listen()}\": must be <ip>:<port>");
            return null;
        }

        string? localHost = null;
        var localPort = 0;
        if (_serviceAddr().Length > 0 && !TrySplit(_serviceAddr(), out localHost, out localPort))
        {
            ctx.Err.WriteLine($"Invalid -service-addr \"{_serviceAddr()}\": must be <ip>:<port>");
            return null;
        }

        var upstreams = new List<(string Name, int Port)>();
        foreach (var upstream in _upstreams())
        {
            var colon = upstream.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(upstream.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                ctx.Err.WriteLine($"Invalid -upstream \"{upstream}\": must be <name>:<port>");
                return null;
            }

            upstreams.Add((upstream[..colon], port));
        }

        var id = service + "-proxy";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Kind", "connect-proxy");
            json.WriteString("ID", id);
            json.WriteString("Name", id);
            json.WriteString("Address", listenHost);
            json.WriteNumber("Port", listenPort);
            json.WriteStartObject("Proxy");
            json.WriteString("DestinationServiceName", service);
            if (localHost is not null)
            {
                json.WriteString("LocalServiceAddress", localHost);
                json.WriteNumber("LocalServicePort", localPort);
            }

            json.WriteStartArray("Upstreams");
            foreach (var (name, port) in upstreams)
            {
                json.WriteStartObject();
                json.WriteString("DestinationType", "service");
                json.WriteString("DestinationName", name);
                json.WriteString("LocalBindAddress", "127.0.0.1");
                json.WriteNumber("LocalBindPort", port);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("Check");
            json.WriteString("Name", "Connect Proxy Listening");
            json.WriteString("TCP", _listen());
            json.WriteString("Interval", "10s");
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return new AdHoc(id, buffer.ToArray());
    }

    private static async Task DeregisterAsync(CliContext ctx, ApiClient client, AdHoc? adHoc)
    {
        if (adHoc is null) return;
        try
        {
            // The context is cancelled by now (that is how the proxy stopped); deregistering must still happen.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.Agent.ServiceDeregisterAsync(adHoc.Id, timeout.Token).ConfigureAwait(false);
            ctx.Out.WriteLine($"Deregistered service {adHoc.Id}");
        }
        catch (Exception e) when (e is ApiException or OperationCanceledException)
        {
            ctx.Err.WriteLine($"Error deregistering service {adHoc.Id}: {e.Message}");
        }
    }

    /// <summary>
    /// The agent's gRPC address: the flag or environment, else the agent's reported gRPC port on the HTTP address's
    /// host (the agent serves both on its client address), else 8502.
    /// </summary>
    private static async Task<Uri> GrpcAddressAsync(CliContext ctx, ApiClient client, string? address)
    {
        if (address is null)
        {
            var port = await ProxyRegistration.AgentGrpcPortAsync(client, ctx.Cancellation).ConfigureAwait(false);
            var host = client.Config.Scheme == "unix" ? "127.0.0.1" : client.Config.BaseUri.Host;
            if (host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[')) host = $"[{host}]";
            address = $"{host}:{port?.ToString(CultureInfo.InvariantCulture) ?? DefaultGrpcPort}";
        }

        var withScheme = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) ||
            uri.Port <= 0 || uri.AbsolutePath.Trim('/').Length > 0)
            throw new SettingException($"Invalid gRPC address \"{address}\": must be [http(s)://]<host>:<port>");
        return uri;
    }

    private static bool TrySplit(string value, out string host, out int port)
    {
        var colon = value.LastIndexOf(':');
        host = colon > 0 ? value[..colon].Trim('[', ']') : "";
        port = 0;
        return colon > 0 && IPAddress.TryParse(host, out _) &&
               int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;
    }

    private static bool TryLogLevel(string value, out LogLevel level)
    {
        level = value.ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "err" or "error" => LogLevel.Error,
            _ => LogLevel.None,
        };
        return level != LogLevel.None;
    }

    /// <summary>A flag or environment value the command cannot use; the message is what it prints.</summary>
    private sealed class SettingException(string message) : Exception(message);
}
