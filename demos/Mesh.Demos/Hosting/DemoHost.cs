using System.Net;
using Mesh.Demos.Tracing;
using Mesh.Tracing;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Mesh.Demos.Hosting;

/// <summary>
/// Runs one demo service: parses its flags, turns tracing on from the <c>OTEL_*</c> environment and the
/// <c>-tracing-*</c> flags, serves it on Kestrel until SIGTERM or SIGINT, then flushes its spans and exits 0.
/// </summary>
internal static partial class DemoHost
{
    /// <summary>The machine's host name, which the services report so a reader sees which instance answered.</summary>
    public static string HostName { get; } = Dns.GetHostName();

    /// <summary>Runs <paramref name="service"/> with <paramref name="args"/> (the arguments after the subcommand).</summary>
    /// <returns>0 after a graceful stop; 1 when it cannot start (bad environment, port in use); 2 on bad flags.</returns>
    public static async Task<int> RunAsync(IDemoService service, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var port = service.DefaultPort;
        var bind = IPAddress.Loopback;
        var tracingFlags = new List<KeyValuePair<string, string>>();
        var flags = new FlagSet(service.Name, service.Summary);
        flags.AddPort("port", "The port to listen on; 0 picks a free one.", service.DefaultPort, p => port = p, "PORT");
        flags.Add("bind", "The IP address to listen on.", "127.0.0.1", value => bind = IPAddress.TryParse(value, out var address)
            ? address
            : throw new UsageException($"-bind: \"{value}\" is not an IP address"));
        service.AddFlags(flags);
        foreach (var tracingFlag in TracingOptions.Flags)
        {
            flags.Add(tracingFlag.Name, tracingFlag.Help, null, value => tracingFlags.Add(new(tracingFlag.Name, value)));
        }

        if (args.Any(a => a is "-h" or "-help" or "--help"))
        {
            flags.WriteUsage(stdout);
            return 0;
        }

        TracingOptions tracingOptions;
        try
        {
            flags.Parse(args, Environment.GetEnvironmentVariable);
            tracingOptions = TracingOptions.FromEnvironment(Environment.GetEnvironmentVariable, new TracingOptions { ServiceName = service.Name });
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"mesh-demo {service.Name}: {e.Message}");
            flags.WriteUsage(stderr);
            return 2;
        }
        catch (ArgumentException e)
        {
            // An OTEL_* variable the service cannot use: not a flag, so no usage, but the service must not start half-traced.
            await stderr.WriteLineAsync($"mesh-demo {service.Name}: {MessageOf(e)}");
            return 1;
        }

        try
        {
            tracingOptions = tracingOptions.WithFlags(tracingFlags);
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"mesh-demo {service.Name}: {MessageOf(e)}");
            flags.WriteUsage(stderr);
            return 2;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            console.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        // Open WebSockets end when the host stops; nothing else takes long, so a short drain is enough.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(bind, port));
        service.ConfigureServices(builder);

        await using var app = builder.Build();
        service.Map(app);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Mesh.Demos." + service.Name);

        MeshTracer tracer;
        try
        {
            tracer = MeshTracing.Configure(tracingOptions, app.Services.GetRequiredService<ILoggerFactory>());
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"mesh-demo {service.Name}: {MessageOf(e)}");
            return 1;
        }

        using (tracer)
        {
            try
            {
                await app.StartAsync();
            }
            catch (Exception e) when (e is IOException or AddressInUseException or System.Net.Sockets.SocketException)
            {
                await stderr.WriteLineAsync($"mesh-demo {service.Name}: cannot listen on {bind}:{port}: {e.Message}");
                return 1;
            }

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            Log.Listening(logger, service.Name, address ?? $"http://{bind}:{port}");
            if (tracer.Enabled) Log.Tracing(logger, tracingOptions.ServiceName, tracingOptions.Exporters.ToString().ToLowerInvariant());

            await app.WaitForShutdownAsync();
            Log.Stopped(logger, service.Name);
        }

        return 0;
    }

    /// <summary>An <see cref="ArgumentException"/>'s message without the "(Parameter 'x')" the runtime appends.</summary>
    private static string MessageOf(ArgumentException e) =>
        e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
}
