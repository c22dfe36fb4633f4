using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Mesh.Cli.Http;
using Mesh.Xds.Bootstrap;

namespace Mesh.Cli.Commands.Connect;

/// <summary>
/// <c>mesh connect envoy</c>: builds the bootstrap for a proxy registered on the local agent and runs Envoy with it
/// (the CLI process becomes Envoy on Linux and macOS), or prints it with <c>-bootstrap</c>. Flags, lookups and
/// messages follow Consul's <c>connect envoy</c>.
/// </summary>
internal sealed class ConnectEnvoyCommand : Command
{
    private const string Usage = """
        Usage: mesh connect envoy [options] [-- pass-through options]

          Generates the bootstrap configuration needed to start an Envoy proxy instance
          for use as a Connect sidecar for a particular service instance. By default it
          will generate the config and then exec Envoy directly until it exits normally.

          It will search $PATH for the envoy binary but this can be overridden with
          -envoy-binary.

          It can instead only generate the bootstrap.json based on the current ENV and
          arguments using -bootstrap.

          The example below shows how to start a local proxy as a sidecar to a "web"
          service instance. It assumes that the proxy was already registered with its
          Config for example via a sidecar_service block.

              $ mesh connect envoy -sidecar-for web

          Additional arguments may be passed directly to Envoy by specifying a double
          dash followed by a list of options.

              $ mesh connect envoy -sidecar-for web -- --log-level debug
        """;

    private const string DefaultGrpcPort = "8502";

    private readonly HttpOptions _http;
    private readonly Func<string> _proxyId, _sidecarFor, _adminBind, _adminAccessLogPath, _grpcAddr, _grpcCaFile, _envoyBinary;
    private readonly Func<bool> _bootstrap;

    public ConnectEnvoyCommand(CliServices services) : base(services, Usage)
    {
        _http = HttpOptions.Register(Flags, serverFlags: false);
        _proxyId = Flags.String("proxy-id", "", ProxyRegistration.ProxyIdHelp);
        _sidecarFor = Flags.String("sidecar-for", "", ProxyRegistration.SidecarForHelp);
        _bootstrap = Flags.Bool("bootstrap", false, "Generate the bootstrap.json but don't exec envoy");
        _adminBind = Flags.String("admin-bind", "localhost:19000",
            "The address:port to start envoy's admin server on. Envoy requires this but care must be taken to ensure " +
            "it's not exposed to an untrusted network as it has full control over the secrets and config of the proxy.");
        _adminAccessLogPath = Flags.String("admin-access-log-path", "/dev/null",
            "The path to write the access log for the administration server. If no access log is desired specify " +
            "\"/dev/null\". By default it will use \"/dev/null\".");
        _grpcAddr = Flags.String("grpc-addr", "",
            "Set the agent's gRPC address and port (in http(s)://host:port format, or unix:///path). Alternatively, you " +
            "can specify MESH_GRPC_ADDR (or CONSUL_GRPC_ADDR) in ENV. By default the agent's configured gRPC port on " +
            "127.0.0.1 is used, or 127.0.0.1:8502.");
        _grpcCaFile = Flags.String("grpc-ca-file", "",
            "Path to a CA file Envoy uses to verify the agent's gRPC certificate; giving one turns TLS on. This can " +
            "also be specified via the MESH_GRPC_CACERT (or CONSUL_GRPC_CACERT) environment variable. With an https:// " +
            "gRPC address and no gRPC CA, the HTTP API's -ca-file is used.");
        _envoyBinary = Flags.String("envoy-binary", "",
            "The full path to the envoy binary to run. By default will just search $PATH. Ignored if -bootstrap is used.");
    }

    public override string Synopsis => "Runs or Configures Envoy as a Connect proxy";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var passThrough = Flags.Args;
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;

        string? Setting(Func<string> flag, params string[] envNames) => ProxyRegistration.Setting(ctx, flag, envNames);

        BootstrapResult bootstrap;
        try
        {
            var proxyId = Setting(_proxyId, "CONNECT_PROXY_ID");
            var sidecarFor = Setting(_sidecarFor, "CONNECT_SIDECAR_FOR");
            if (proxyId is null && sidecarFor is not null)
                proxyId = await ProxyRegistration.LookupSidecarAsync(client, sidecarFor, ctx.Cancellation).ConfigureAwait(false);
            if (proxyId is null)
            {
                ctx.Err.WriteLine("No proxy ID specified. One of -proxy-id or -sidecar-for is required");
                return 1;
            }
            var proxy = await ProxyRegistration.FetchAsync(client, proxyId, ctx.Cancellation).ConfigureAwait(false);
            var defaults = await ProxyRegistration.ProxyDefaultsConfigAsync(client, ctx.Cancellation).ConfigureAwait(false);
            var grpc = await GrpcTargetAsync(ctx, client, Setting(_grpcAddr, "MESH_GRPC_ADDR", "CONSUL_GRPC_ADDR"),
                Setting(_grpcCaFile, "MESH_GRPC_CACERT", "CONSUL_GRPC_CACERT")).ConfigureAwait(false);
            var (adminHost, adminPort) = AdminBind(_adminBind());

            // A sidecar is named after the service it fronts, for node.cluster and the source-service stats tag,
            // as in Consul; any other proxy after itself.
            var cluster = proxy.DestinationServiceName.Length > 0 ? proxy.DestinationServiceName : proxy.Service;
            bootstrap = BootstrapBuilder.Build(new BootstrapInput
            {
                ProxyId = proxy.Id,
                ProxyCluster = cluster.Length > 0 ? cluster : proxy.Id,
                Datacenter = proxy.Datacenter.Length > 0 ? proxy.Datacenter : await AgentDatacenterAsync(client, ctx.Cancellation).ConfigureAwait(false),
                AgentGrpcAddress = grpc.Host,
                AgentGrpcPort = grpc.Port,
                AgentGrpcSocketPath = grpc.Socket,
                AgentGrpcTls = grpc.Tls,
                AgentCaPem = grpc.CaPem,
                Token = client.Config.Token,
                AdminBindAddress = adminHost,
                AdminBindPort = adminPort,
                AdminAccessLogPath = _adminAccessLogPath() is { Length: > 0 } log ? log : "/dev/null",
                // proxy-defaults first, the proxy's own Config last: the proxy's keys win.
                Settings = BootstrapSettings.FromConfig(ctx.GetEnv, defaults, proxy.Config),
            });
        }
        catch (Exception e) when (e is ProxyLookupException or BootstrapException or SettingException)
        {
            ctx.Err.WriteLine(e.Message);
            return 1;
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error connecting to Mesh agent: {e.Message}");
            return 1;
        }

        if (_bootstrap())
        {
            ctx.Out.Write(bootstrap.Json);
            return 0;
        }

        var binary = FindEnvoy(ctx, Setting(_envoyBinary));
        if (binary is null) return 1;
        var dir = Directory.CreateTempSubdirectory("mesh-envoy-");
        try
        {
            var file = Path.Combine(dir.FullName, "bootstrap.json");
            WritePrivate(file, bootstrap.Json);
            return await Services.EnvoyLauncher.LaunchAsync(ctx, binary, ["--config-path", file, .. passThrough]).ConfigureAwait(false);
        }
        finally
        {
            // Reached only when Envoy did not replace this process (it failed to start, or ran as a child).
            try { dir.Delete(recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>Where and how Envoy reaches the agent's xDS server.</summary>
    private sealed record GrpcTarget(string Host, int Port, string? Socket, bool Tls, string? CaPem);

    private static async Task<GrpcTarget> GrpcTargetAsync(CliContext ctx, ApiClient client, string? address, string? caFile)
    {
        if (address is null)
        {
            int? port;
            try
            {
                port = await ProxyRegistration.AgentGrpcPortAsync(client, ctx.Cancellation).ConfigureAwait(false);
            }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error connecting to Mesh agent: {e.Message}");
                port = null;
            }
            address = "127.0.0.1:" + (port?.ToString(CultureInfo.InvariantCulture) ?? DefaultGrpcPort);
        }

        var tls = caFile is not null;
        string rest;
        if (address.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            tls = true;
            rest = address["https://".Length..];
        }
        else if (address.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) rest = address["http://".Length..];
        else rest = address;

        string? caPem = null;
        if (tls)
        {
            caPem = ReadCa(caFile, client.Config.Tls)
                    ?? throw new SettingException("gRPC TLS is on but there is no CA to verify the agent with: pass -grpc-ca-file (or -ca-file)");
        }

        // A socket replaces host and port in the bootstrap; the two are placeholders then.
        if (address.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            return new GrpcTarget("127.0.0.1", int.Parse(DefaultGrpcPort, CultureInfo.InvariantCulture), address["unix://".Length..], tls, caPem);

        var (host, port2) = SplitHostPort(rest.TrimEnd('/'), "Invalid gRPC address");
        return new GrpcTarget(Resolve(host, "Failed to resolve agent address"), port2, null, tls, caPem);
    }

    private static string? ReadCa(string? grpcCaFile, TlsSettings httpTls)
    {
        try
        {
            if (grpcCaFile is not null) return File.ReadAllText(grpcCaFile);
            if (httpTls.CaFile is not null) return File.ReadAllText(httpTls.CaFile);
            if (httpTls.CaPath is not null)
            {
                var pems = Directory.EnumerateFiles(httpTls.CaPath).Order(StringComparer.Ordinal).Select(File.ReadAllText).ToList();
                return pems.Count > 0 ? string.Concat(pems) : null;
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingException($"Error reading the gRPC CA: {e.Message}");
        }
    }

    private static (string Host, int Port) AdminBind(string value)
    {
        var (host, port) = SplitHostPort(value, "Invalid admin bind address");
        // Envoy binds an IP, not a name: resolve here, as Consul does.
        return (Resolve(host, "Failed to resolve admin bind address"), port);
    }

    private static (string Host, int Port) SplitHostPort(string value, string what)
    {
        var colon = value.LastIndexOf(':');
        var host = colon < 0 ? "" : value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (colon < 0 || host.Length == 0 ||
            !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new SettingException($"{what}: \"{value}\" must be <host>:<port>");
        return (host, port);
    }

    private static string Resolve(string host, string what)
    {
        if (IPAddress.TryParse(host, out var ip)) return ip.ToString();
        // "localhost" is the loopback the default agent binds; resolvers may put ::1 first, which it does not serve.
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return "127.0.0.1";
        try
        {
            var addresses = Dns.GetHostAddresses(host);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                         ?? throw new SettingException($"{what}: no address for {host}");
            return chosen.ToString();
        }
        catch (SocketException e)
        {
            throw new SettingException($"{what}: {e.Message}");
        }
    }

    private static async Task<string> AgentDatacenterAsync(ApiClient client, CancellationToken ct)
    {
        using var self = await client.Agent.SelfAsync(ct).ConfigureAwait(false);
        return self.RootElement.TryGetProperty("Config", out var c) && c.TryGetProperty("Datacenter", out var dc) && dc.GetString() is { } s ? s : "";
    }

    private static string? FindEnvoy(CliContext ctx, string? given)
    {
        if (given is not null)
        {
            var path = Path.IsPathRooted(given) ? given : Path.GetFullPath(Path.Combine(ctx.WorkingDirectory, given));
            if (File.Exists(path)) return path;
            ctx.Err.WriteLine($"envoy binary not found at {path}");
            return null;
        }
        var name = OperatingSystem.IsWindows() ? "envoy.exe" : "envoy";
        foreach (var dir in (ctx.GetEnv("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate) && IsExecutable(candidate)) return Path.GetFullPath(candidate);
        }
        ctx.Err.WriteLine("envoy binary not found on $PATH: install Envoy or pass -envoy-binary");
        return null;
    }

    private static bool IsExecutable(string path) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    // The bootstrap carries the ACL token: readable by this user only.
    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    /// <summary>A flag or environment value the command cannot use; the message is what it prints.</summary>
    private sealed class SettingException(string message) : Exception(message);
}
