using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary>
/// A real <c>mesh agent -dev -http-port 0</c> process, built alongside the tests; its address is read from the
/// "HTTP API listening on http://host:port" log line.
/// </summary>
internal sealed partial class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource<string> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AgentProcess(Process process) => _process = process;

    /// <summary><c>host:port</c> of the HTTP API.</summary>
    public string Address { get; private set; } = "";

    /// <summary>Everything the agent printed so far.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    public bool HasExited => _process.HasExited;

    public Task WaitForExitAsync(CancellationToken ct) => _process.WaitForExitAsync(ct);

    public static async Task<AgentProcess> StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "mesh.dll"), "agent", "-dev", "-http-port", "0", "-node", "e2e-" + Guid.NewGuid().ToString("N")[..8] })
            psi.ArgumentList.Add(a);
        var agent = new AgentProcess(Process.Start(psi)!);
        agent._process.OutputDataReceived += (_, e) => agent.OnLine(e.Data);
        agent._process.ErrorDataReceived += (_, e) => agent.OnLine(e.Data);
        agent._process.BeginOutputReadLine();
        agent._process.BeginErrorReadLine();
        var exited = agent._process.WaitForExitAsync();
        var first = await Task.WhenAny(agent._address.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != agent._address.Task)
        {
            await agent.DisposeAsync();
            throw new InvalidOperationException($"the agent did not report its HTTP address:\n{agent.Log}");
        }
        agent.Address = await agent._address.Task;
        return agent;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
        var m = Listening().Match(line);
        if (m.Success) _address.TrySetResult($"{m.Groups[1].Value}:{m.Groups[2].Value}");
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

    [GeneratedRegex(@"HTTP API listening on http://(\S+):(\d+)")]
    private static partial Regex Listening();
}

/// <summary>One agent shared by the end-to-end tests of a collection.</summary>
public sealed class AgentFixture : IAsyncLifetime
{
    internal AgentProcess Agent { get; private set; } = null!;

    public async Task InitializeAsync() => Agent = await AgentProcess.StartAsync();

    public async Task DisposeAsync() => await Agent.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class AgentCollection : ICollectionFixture<AgentFixture>
{
    public const string Name = "real agent";
}
