using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Mesh.Tests.Shared;

/// <summary>
/// A Node.js script from <c>tests/interop/&lt;folder&gt;</c> run as a child process that talks in lines: the test writes
/// commands to its stdin and reads its stdout line by line. Killed with its process tree on dispose; stderr is kept
/// for failure messages.
/// </summary>
public sealed class NodeScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stderr = new();

    private NodeScript(Process process) => _process = process;

    /// <summary>What the script printed on stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    /// <summary>Starts <c>node &lt;script&gt; &lt;args&gt;</c> in <c>tests/interop/&lt;folder&gt;</c>, whose node_modules tests/setup.sh installs.</summary>
    public static NodeScript Start(string folder, string script, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var dir = Path.Combine(RepoPaths.Interop, folder);
        if (!Directory.Exists(Path.Combine(dir, "node_modules")))
            throw new InvalidOperationException($"{dir}/node_modules is missing: run tests/setup.sh (npm ci in tests/interop/{folder}).");
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = dir,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(script);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) info.Environment[k] = v;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var node = new NodeScript(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) node._lines.Writer.TryComplete();
            else node._lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (node._stderr) node._stderr.AppendLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>The next line the script prints.</summary>
    /// <exception cref="InvalidOperationException">The script exited or printed nothing within <paramref name="timeout"/>.</exception>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        try
        {
            return await _lines.Reader.ReadAsync().AsTask().WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or ChannelClosedException)
        {
            throw new InvalidOperationException($"node {string.Join(' ', _process.StartInfo.ArgumentList)}: no line within {timeout.TotalSeconds:0}s" +
                $" ({(ex is TimeoutException ? "timed out" : "exited")})\n--- stderr ---\n{Stderr}", ex);
        }
    }

    /// <summary>Writes one command line to the script's stdin.</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started, or already reaped.
        }
        _process.Dispose();
    }
}
