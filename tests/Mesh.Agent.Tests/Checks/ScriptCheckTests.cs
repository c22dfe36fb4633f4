using Mesh.State.Tables;
using Mesh.Agent.Checks;

namespace Mesh.Agent.Tests.Checks;

public sealed class ScriptCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-script-check-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0, "passing")]
    [InlineData(1, "warning")]
    [InlineData(2, "critical")]
    public async Task ProbeAsync_ExitCode_MapsToNagiosStatus(int exitCode, string expected)
    {
        var probe = Probe($"echo out-{exitCode}\necho err-{exitCode} >&2\nexit {exitCode}\n");

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(expected, result.Status);
        Assert.Contains($"out-{exitCode}\n", result.Output);
        Assert.Contains($"err-{exitCode}\n", result.Output);
    }

    [Fact]
    public async Task ProbeAsync_Hanging_KilledAtTimeoutWithTree()
    {
        var pidFile = Path.Combine(_dir, "child.pid");
        // The script starts a grandchild and waits on it: killing only the script would leave the sleep running.
        var probe = Probe($"echo started\nsleep 30 &\necho $! > {pidFile}\nwait\n", TimeSpan.FromMilliseconds(500));

        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Critical, result.Status);
        Assert.Equal("Timed out (500ms) running check\n\nstarted\n", result.Output);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
        var childPid = int.Parse(File.ReadAllText(pidFile).Trim());
        Assert.False(IsAlive(childPid), $"grandchild {childPid} survived the timeout");
    }

    [Fact]
    public async Task ProbeAsync_LongOutput_KeepsTailWithConsulNote()
    {
        var probe = Probe("head -c 5000 /dev/zero | tr '\\0' 'a'\nprintf 'END'\n");

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Passing, result.Status);
        Assert.StartsWith("Captured 4096 of 5003 bytes\n...\n", result.Output);
        Assert.EndsWith("aEND", result.Output);
    }

    [Fact]
    public async Task ProbeAsync_MissingProgram_Critical()
    {
        var probe = new ScriptCheckProbe(new CheckDefinition { Args = [Path.Combine(_dir, "absent")], Interval = CheckKit.Interval });

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Critical, result.Status);
        Assert.StartsWith("exec: ", result.Output);
    }

    [Fact]
    public void Create_ScriptsDisabled_RefusedWithConsulMessage()
    {
        var definition = new CheckDefinition { Args = ["/bin/true"], Interval = CheckKit.Interval };

        var ex = Assert.Throws<InvalidOperationException>(() => new CheckProbeFactory(enableScriptChecks: false).Create(definition));

        Assert.Contains("enable_script_checks", ex.Message);
        Assert.IsType<ScriptCheckProbe>(new CheckProbeFactory(enableScriptChecks: true).Create(definition));
    }

    private ScriptCheckProbe Probe(string script, TimeSpan? timeout = null)
    {
        var path = Path.Combine(_dir, $"check-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, script);
        return new ScriptCheckProbe(new CheckDefinition { Args = ["/bin/sh", path], Interval = CheckKit.Interval, Timeout = timeout ?? TimeSpan.Zero });
    }

    private static bool IsAlive(int pid)
    {
        // A killed child may linger as a zombie until reaped; only a running one counts.
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
