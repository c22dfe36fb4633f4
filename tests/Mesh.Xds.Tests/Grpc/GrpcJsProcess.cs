using System.Diagnostics;
using System.Text.Json;

namespace Mesh.Xds.Tests.Grpc;

/// <summary>
/// Runs the grpc-js scripts of tests/interop/grpc-js (installed by tests/setup.sh): the Echo server on port 0, whose
/// port it reads from the server's "listening PORT" line, and one-shot client scenarios that print a JSON line.
/// </summary>
internal sealed class GrpcJsProcess : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly Lazy<string> DirectoryLazy = new(FindDirectory);

    private readonly Process _process;

    private GrpcJsProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>tests/interop/grpc-js.</summary>
    public static string Directory => DirectoryLazy.Value;

    /// <summary>Starts server.mjs and returns once it listens.</summary>
    public static async Task<GrpcJsProcess> StartServerAsync()
    {
        var process = Start("server.mjs");
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(Wait);
        if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"grpc-js server did not start: {line} {await process.StandardError.ReadToEndAsync()}");
        }

        return new GrpcJsProcess(process, int.Parse(line!["listening ".Length..]));
    }

    /// <summary>Runs client.mjs against <paramref name="target"/> (<c>host:port</c>) and returns the JSON it printed.</summary>
    public static async Task<JsonElement> RunClientAsync(string target, string scenario, params string[] options)
    {
        using var process = Start("client.mjs", [target, scenario, .. options]);
        // Close stdin at once: the client does not read it, and an open pipe must not keep anything alive.
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Wait);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"grpc-js client {scenario} did not finish in {Wait}: {await stderr}");
        }

        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"grpc-js client {scenario} exited {process.ExitCode}: {output} {await stderr}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static Process Start(string script, params string[] arguments)
    {
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start node {script}");
    }

    private static string FindDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                var folder = Path.Combine(dir.FullName, "tests", "interop", "grpc-js");
                if (!System.IO.Directory.Exists(Path.Combine(folder, "node_modules", "@grpc", "grpc-js")))
                {
                    Assert.Fail($"{folder}/node_modules is missing. Run tests/setup.sh to install the test peers (npm ci in tests/interop/grpc-js).");
                }

                return folder;
            }
        }

        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    }
}
