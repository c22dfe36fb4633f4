using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Mesh.Tests.Shared;

/// <summary>Options for <see cref="AgentProcess.StartAsync"/>.</summary>
public sealed record AgentProcessOptions
{
    /// <summary>The agent's <c>-node</c> name; a unique one when null, so agents never collide.</summary>
    public string? NodeName { get; init; }

    /// <summary>Further agent flags, appended after <c>agent -dev -http-port 0 -dns-port 0 -grpc-port 0 -node &lt;name&gt;</c>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>How long to wait for the "HTTP API listening on" line (JIT on a busy 2-core machine is slow).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Path of <c>mesh.dll</c>; defaults to the copy in the test output folder.</summary>
    public string? MeshDllPath { get; init; }

    /// <summary>Variables set in the agent's environment (<c>OTEL_*</c>, say).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// A real <c>mesh agent -dev</c> child process on a free port, shared by the test projects (linked into each): started with <c>dotnet mesh.dll</c>, ready once it
/// prints <c>HTTP API listening on http://host:port</c> on stdout, killed with its whole process tree on dispose.
/// Its stdout and stderr are kept so a failing test can show them.
/// </summary>
public sealed partial class AgentProcess : IAsyncDisposable
{
    private const int MaxKeptLines = 4000;

    private readonly Process _process;
    private readonly Queue<string> _lines = new();
    private readonly Lock _linesLock = new();
    private readonly TaskCompletionSource<(string Host, int Port)> _listening =
        new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private AgentProcess(Process process, string nodeName)
    {
        _process = process;
        NodeName = nodeName;
    }

    /// <summary>The agent's node name (its <c>-node</c> flag).</summary>
    public string NodeName { get; }

    /// <summary>Base address of the HTTP API, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary><c>host:port</c> of the HTTP API, as clients take it (MESH_HTTP_ADDR, CONSUL_HTTP_ADDR).</summary>
    public string HostPort { get; private set; } = "";

    /// <summary>Host part of <see cref="HostPort"/> (an IPv6 literal keeps its brackets).</summary>
    public string Host { get; private set; } = "";

    /// <summary>Port of the HTTP API.</summary>
    public int Port { get; private set; }

    /// <summary>Whether the agent has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Completes when the agent has exited.</summary>
    public Task WaitForExitAsync(CancellationToken cancellation) => _process.WaitForExitAsync(cancellation);

    /// <summary>Kills the agent at once (SIGKILL), as a crash would: no shutdown code runs.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>The child process (<c>dotnet mesh.dll agent ...</c>).</summary>
    public Process Process => _process;

    /// <summary>Everything the agent printed so far, stdout and stderr interleaved, each line tagged.</summary>
    public string Output
    {
        get
        {
            lock (_linesLock)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    [GeneratedRegex(@"HTTP API listening on http://(\S+):(\d+)")]
    private static partial Regex ListeningLine();

    // The agent prints its gRPC line before its HTTP line, so the gRPC port is known once the agent counts as started.
    [GeneratedRegex(@"gRPC \(xDS\) listening on http://(\S+):(\d+)")]
    private static partial Regex GrpcListeningLine();

    /// <summary>Port of the plaintext gRPC (xDS) listener, or 0 when the agent has none.</summary>
    public int GrpcPort { get; private set; }

    /// <summary>The <c>dotnet</c> host that runs this test, so the agent runs on the same runtime.</summary>
    public static string DotnetHost()
    {
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return "dotnet";
    }

    /// <summary>Starts an agent and returns once its HTTP API is listening.</summary>
    /// <exception cref="InvalidOperationException">The agent exited, timed out or printed no listening line;
    /// the message carries its output.</exception>
    public static async Task<AgentProcess> StartAsync(AgentProcessOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new AgentProcessOptions();
        var meshDll = options.MeshDllPath ?? Path.Combine(AppContext.BaseDirectory, "mesh.dll");
        if (!File.Exists(meshDll))
        {
            throw new InvalidOperationException(
                $"{meshDll} not found: the test project must reference Mesh.Cli so the CLI is copied to its output.");
        }

        var nodeName = options.NodeName ?? $"test-{Guid.NewGuid():N}"[..17];
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(meshDll)!,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in (string[])[meshDll, "agent", "-dev", "-http-port", "0", "-dns-port", "0", "-grpc-port", "0", "-node", nodeName])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var arg in options.ExtraArguments)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in options.Environment)
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var agent = new AgentProcess(process, nodeName);
        process.OutputDataReceived += (_, e) => agent.OnLine(e.Data, isStdout: true);
        process.ErrorDataReceived += (_, e) => agent.OnLine(e.Data, isStdout: false);

        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {info.FileName} {string.Join(' ', info.ArgumentList)}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var (host, port) = await agent._listening.Task.WaitAsync(options.StartTimeout, cancellation).ConfigureAwait(false);
            agent.Host = host;
            agent.Port = port;
            agent.HostPort = $"{host}:{port}";
            agent.BaseAddress = new Uri($"http://{agent.HostPort}/");
            return agent;
        }
        catch (Exception ex)
        {
            var why = ex switch
            {
                TimeoutException => $"no 'HTTP API listening on http://host:port' line on stdout within {options.StartTimeout.TotalSeconds:0}s",
                OperationCanceledException => "cancelled while waiting for the agent",
                _ => ex.Message,
            };
            await agent.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException(
                $"agent {nodeName} did not start: {why}\ncommand: {info.FileName} {string.Join(' ', info.ArgumentList)}\n--- agent output ---\n{agent.Output}",
                ex);
        }
    }

    private void OnLine(string? line, bool isStdout)
    {
        if (line is null)
        {
            if (isStdout)
            {
                // stdout closed: the process is gone (or closed it) before announcing itself.
                _listening.TrySetException(new InvalidOperationException(
                    $"the agent closed stdout before listening{ExitCodeSuffix()}"));
            }

            return;
        }

        lock (_linesLock)
        {
            _lines.Enqueue((isStdout ? "[out] " : "[err] ") + line);
            while (_lines.Count > MaxKeptLines)
            {
                _lines.Dequeue();
            }
        }

        if (_listening.Task.IsCompleted)
        {
            return;
        }

        if (GrpcListeningLine().Match(line) is { Success: true } grpc && GrpcPort == 0)
        {
            GrpcPort = int.Parse(grpc.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        var match = ListeningLine().Match(line);
        if (!match.Success)
        {
            return;
        }

        if (!isStdout)
        {
            _listening.TrySetException(new InvalidOperationException(
                "the agent printed its listening line on stderr; the contract is stdout"));
            return;
        }

        _listening.TrySetResult((LoopbackFor(match.Groups[1].Value), int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    private string ExitCodeSuffix()
    {
        try
        {
            // No WaitForExit here: this runs on the stdout reader, which WaitForExit would wait for.
            return _process.HasExited ? $" (exit code {_process.ExitCode})" : "";
        }
        catch (InvalidOperationException)
        {
            return "";
        }
    }

    /// <summary>A wildcard bind address is reached through the matching loopback address.</summary>
    private static string LoopbackFor(string host) => host switch
    {
        "0.0.0.0" or "*" or "+" => "127.0.0.1",
        "[::]" or "::" => "[::1]",
        _ => host,
    };

    /// <summary>Kills the agent and everything it started, and waits for it to be gone.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // never started, or already reaped
        }
        catch (OperationCanceledException)
        {
            // the kill was sent; a zombie that outlives 15 s is not this test's failure
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of the agent's output, for failure messages.</summary>
    public string OutputTail(int lines = 80)
    {
        var all = Output.Split('\n');
        return all.Length <= lines ? Output : string.Join('\n', all[^lines..]);
    }
}
