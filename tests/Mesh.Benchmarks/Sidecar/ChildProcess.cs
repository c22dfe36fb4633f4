using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// One process the sidecar scenario runs (nginx, haproxy, a Mesh sidecar): output drained for its whole life and the
/// last lines kept for error messages; killed with everything it started when disposed, so nothing outlives the run.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptOutputLines = 30;

    private readonly Process _process;
    private readonly Queue<string> _recentOutput = new();

    private ChildProcess(string label, Process process)
    {
        Label = label;
        _process = process;
    }

    /// <summary>What the process is, for messages ("haproxy (outbound)").</summary>
    public string Label { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Resident set size now (VmRSS), in bytes.</summary>
    public long RssBytes() => ProcFs.RssBytes(Pid);

    /// <summary>The last lines the process printed on either stream.</summary>
    public string RecentOutput()
    {
        lock (_recentOutput) return string.Join(Environment.NewLine, _recentOutput);
    }

    /// <summary>Why the process is not usable, with its last output, for a setup error.</summary>
    public string Describe() =>
        (HasExited ? $"{Label} exited with code {_process.ExitCode}" : $"{Label} (pid {Pid}) is running") +
        (RecentOutput() is { Length: > 0 } output ? $"; its last output:{Environment.NewLine}{output}" : "; it printed nothing");

    public static ChildProcess Start(string label, string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new BenchmarkSetupException($"could not start {label} ({fileName})");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BenchmarkSetupException($"could not start {label} ({fileName}): {e.Message}");
        }
        var child = new ChildProcess(label, process);
        // A full pipe would block the child's logging and with it the child: latency that is not the proxy's.
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>A TCP port the OS has just handed out on loopback, to pass to a child that cannot bind port 0 and report it.</summary>
    public static int FreePort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>
    /// Waits until <paramref name="port"/> accepts connections, failing early with the child's output if it exits
    /// (a bad configuration makes nginx and haproxy exit at once).
    /// </summary>
    public async Task WaitForPortAsync(int port, TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            if (HasExited) throw new BenchmarkSetupException($"{Label} did not start: {Describe()}");
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellation);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < timeout)
            {
                // Not listening yet; the child is still reading its configuration. A short pause between probes
                // keeps the poll from competing with the child for the CPU.
                await Task.Delay(20, cancellation);
            }
            catch (SocketException e)
            {
                throw new BenchmarkSetupException($"{Label} does not accept connections on 127.0.0.1:{port} after {timeout.TotalSeconds:0} s ({e.SocketErrorCode}): {Describe()}");
            }
        }
    }

    /// <summary>Kills the child and its descendants and waits for them, so their ports and memory are free again.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException) { } // already reaped
        catch (OperationCanceledException) { }
        finally { _process.Dispose(); }
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_recentOutput)
        {
            _recentOutput.Enqueue(line);
            if (_recentOutput.Count > KeptOutputLines) _recentOutput.Dequeue();
        }
    }
}
