using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Mesh.Benchmarks.Infrastructure;

/// <summary>
/// Runs <c>mesh agent -dev -http-port 0 -dns-port 0</c> as a child process and learns its HTTP and DNS addresses from
/// the lines it prints.
/// A separate process (not an in-process host) so the agent's CPU, memory and file descriptors are its own and
/// <c>/proc/[pid]</c> measures exactly the agent, as an operator would see it.
/// </summary>
internal sealed partial class AgentProcess : IAsyncDisposable
{
    private const int KeptOutputLines = 40;

    private readonly Process _process;
    private readonly Queue<string> _recentOutput = new();

    private AgentProcess(Process process) => _process = process;

    /// <summary>Where the agent's HTTP API listens (always an address a client can connect to).</summary>
    public IPEndPoint HttpEndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    public Uri BaseAddress => new($"http://{HttpEndPoint}/");

    /// <summary>Where the agent's DNS server listens (UDP and TCP).</summary>
    public IPEndPoint DnsEndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>Where the agent's gRPC (xDS) port listens, plaintext HTTP/2.</summary>
    public IPEndPoint GrpcEndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>The agent's process id; <c>dotnet mesh.dll</c> hosts the runtime in-process, so this is the agent.</summary>
    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The agent's resident set size right now, in bytes.</summary>
    public long RssBytes() => ProcFs.RssBytes(Pid);

    /// <summary>The agent's CPU time so far, in <see cref="ProcFs.UserHz"/> ticks.</summary>
    public long CpuTicks() => ProcFs.CpuTicks(Pid);

    /// <summary>The agent's last lines of output, for diagnosing a failure.</summary>
    public string RecentOutput()
    {
        lock (_recentOutput) return string.Join(Environment.NewLine, _recentOutput);
    }

    [GeneratedRegex(@"HTTP API listening on http://(\S+):(\d+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"DNS server listening on (\S+):(\d+) ")]
    private static partial Regex DnsListeningLine();

    [GeneratedRegex(@"gRPC \(xDS\) listening on http://(\S+):(\d+)")]
    private static partial Regex GrpcListeningLine();

    public static async Task<AgentProcess> StartAsync(TimeSpan startTimeout, CancellationToken cancellation)
    {
        var meshDll = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
        if (!File.Exists(meshDll))
            throw new BenchmarkSetupException($"{meshDll} not found; build with `dotnet build -c Release tests/Mesh.Benchmarks`.");

        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in new[] { meshDll, "agent", "-dev", "-http-port", "0", "-dns-port", "0", "-grpc-port", "0" }) info.ArgumentList.Add(arg);

        var process = Process.Start(info) ?? throw new BenchmarkSetupException("could not start the agent process");
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var agent = new AgentProcess(process);

        // Both streams are drained for the agent's whole life: a full pipe would block the agent's logger and so
        // the agent itself, which would show up as latency in the figures.
        process.OutputDataReceived += (_, e) => agent.OnOutput(e.Data, listening);
        process.ErrorDataReceived += (_, e) => agent.OnOutput(e.Data, listening: null);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var exited = process.WaitForExitAsync(cancellation);
            var first = await Task.WhenAny(listening.Task, exited, Task.Delay(startTimeout, cancellation));
            cancellation.ThrowIfCancellationRequested();
            if (first != listening.Task)
            {
                var why = process.HasExited ? $"exited with code {process.ExitCode}" : $"printed no listening line within {startTimeout.TotalSeconds:0} s";
                throw new BenchmarkSetupException($"the agent {why}. Its last output:{Environment.NewLine}{agent.RecentOutput()}");
            }
            agent.HttpEndPoint = await listening.Task;
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the agent and everything it started, and waits for it to go so its port and memory are free.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException) { } // never started or already reaped
        catch (OperationCanceledException) { }
        finally { _process.Dispose(); }
    }

    private void OnOutput(string? line, TaskCompletionSource<IPEndPoint>? listening)
    {
        if (line is null) return;
        lock (_recentOutput)
        {
            _recentOutput.Enqueue(line);
            if (_recentOutput.Count > KeptOutputLines) _recentOutput.Dequeue();
        }
        if (listening is null || listening.Task.IsCompleted) return;
        // The DNS and gRPC lines come first: the agent starts DNS before it reports the HTTP API ready.
        var dns = DnsListeningLine().Match(line);
        if (dns.Success) DnsEndPoint = ToConnectable(dns.Groups[1].Value, int.Parse(dns.Groups[2].Value));
        var grpc = GrpcListeningLine().Match(line);
        if (grpc.Success) GrpcEndPoint = ToConnectable(grpc.Groups[1].Value, int.Parse(grpc.Groups[2].Value));
        var match = ListeningLine().Match(line);
        if (match.Success) listening.TrySetResult(ToConnectable(match.Groups[1].Value, int.Parse(match.Groups[2].Value)));
    }

    private static IPEndPoint ToConnectable(string host, int port)
    {
        host = host.Trim('[', ']');
        if (!IPAddress.TryParse(host, out var address))
            address = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? IPAddress.Loopback;
        // A wildcard bind is reachable on loopback, which keeps the traffic off any real interface.
        if (address.Equals(IPAddress.Any)) address = IPAddress.Loopback;
        if (address.Equals(IPAddress.IPv6Any)) address = IPAddress.IPv6Loopback;
        return new IPEndPoint(address, port);
    }

    /// <summary>
    /// The <c>dotnet</c> host that runs framework-dependent <c>mesh.dll</c>. <c>dotnet run</c> starts this program
    /// through its apphost, so the current process is not necessarily <c>dotnet</c>; the runtime directory
    /// (<c>&lt;root&gt;/shared/Microsoft.NETCore.App/&lt;version&gt;/</c>) locates the installation that runs us.
    /// </summary>
    internal static string DotnetHost()
    {
        var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Path.GetFileName(Environment.ProcessPath) == exe) return Environment.ProcessPath!;
        var runtimeDir = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
        var root = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(runtimeDir)));
        if (root is not null && File.Exists(Path.Combine(root, exe))) return Path.Combine(root, exe);
        return exe; // fall back to PATH
    }
}
