using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Ca;

/// <summary>Runs the openssl command line, the independent judge of what the CA makes.</summary>
internal static class Openssl
{
    /// <summary>Runs <c>openssl</c> with <paramref name="args"/> in <paramref name="dir"/>; returns exit code and output.</summary>
    public static async Task<ChildProcessResult> RunAsync(string dir, params string[] args) =>
        await ChildProcess.RunAsync("openssl", args, new Dictionary<string, string>(), dir, TimeSpan.FromSeconds(30));

    /// <summary>Runs openssl and fails the test unless it exits 0.</summary>
    public static async Task<string> OkAsync(string dir, params string[] args)
    {
        var r = await RunAsync(dir, args);
        Assert.True(r.ExitCode == 0 && !r.TimedOut, r.Describe("openssl " + string.Join(' ', args)));
        return r.Output;
    }
}
