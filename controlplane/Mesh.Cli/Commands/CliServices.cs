using Mesh.Cli.Locks;
using Mesh.Cli.Processes;
using Mesh.Cli.Watches;

namespace Mesh.Cli.Commands;

/// <summary>
/// What commands get from their host besides the <see cref="CliContext"/>: the HTTP handler to send through (null
/// = the network), the timings of the long-running commands, which tests shorten, and how Envoy is started.
/// </summary>
internal sealed record CliServices
{
    /// <summary>The production configuration.</summary>
    public static CliServices Default { get; } = new();

    /// <summary>An HTTP handler replacing the network (tests); not disposed by the commands.</summary>
    public HttpMessageHandler? Handler { get; init; }

    /// <summary>Retry and grace periods of <c>lock</c>.</summary>
    public LockTimings LockTimings { get; init; } = LockTimings.Default;

    /// <summary>Back-off of <c>watch</c> after errors.</summary>
    public WatchTimings WatchTimings { get; init; } = WatchTimings.Default;

    /// <summary>How <c>connect envoy</c> starts Envoy (tests record the call instead of replacing the test host).</summary>
    public IEnvoyLauncher EnvoyLauncher { get; init; } = Processes.EnvoyLauncher.Instance;

    /// <summary>
    /// How <c>connect proxy</c> runs the native sidecar: a <see cref="Connect.SidecarRunner"/> over the composition of
    /// the sidecar's parts (<see cref="Mesh.Sidecar.Hosting.SidecarHost.Create(Mesh.Sidecar.Hosting.SidecarOptions, Microsoft.Extensions.Logging.ILoggerFactory)"/>); tests substitute their own.
    /// </summary>
    public Connect.ISidecarRunner SidecarRunner { get; init; } = new Connect.SidecarRunner(Mesh.Sidecar.Hosting.SidecarHost.Create);
}
