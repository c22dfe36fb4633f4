using System.Diagnostics;

namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>
/// Finds processes by one exact environment entry. The demo scripts start their processes in sessions of their own,
/// outside the test's process tree, but every one of them inherits the run's unique <c>DEMO_STATE_DIR</c>.
/// </summary>
internal static class ProcessSweep
{
    /// <summary>The ids of this user's processes whose environment holds <c>name=value</c>.</summary>
    public static IReadOnlyList<int> WithEnvironment(string name, string value)
    {
        var entry = System.Text.Encoding.UTF8.GetBytes($"{name}={value}");
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            byte[] environ;
            try
            {
                environ = File.ReadAllBytes(Path.Combine(dir, "environ"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var range in environ.AsSpan().Split((byte)0))
            {
                if (environ.AsSpan(range).SequenceEqual(entry))
                {
                    found.Add(pid);
                    break;
                }
            }
        }

        return found;
    }

    /// <summary>Kills (SIGKILL) every process whose environment holds <c>name=value</c>, with its children.</summary>
    public static void KillWithEnvironment(string name, string value)
    {
        foreach (var pid in WithEnvironment(name, value))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already.
            }
        }
    }
}
