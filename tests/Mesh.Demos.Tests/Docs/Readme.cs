using System.Text;
using System.Text.RegularExpressions;
using Mesh.Demos.Tests.Infrastructure;

namespace Mesh.Demos.Tests.Docs;

/// <summary>One command of a README's <c>console</c> block, and the output the README shows for it.</summary>
/// <param name="Command">The command as written after <c>$ </c> (continuation lines joined).</param>
/// <param name="Expected">The lines shown under it; <c>...</c> stands for lines left out.</param>
internal sealed record ReadmeStep(string Command, IReadOnlyList<string> Expected);

/// <summary>
/// Runs what a README tells a reader to type. Its <c>```console</c> blocks hold commands (<c>$ command</c>) with the
/// output they print; <c>```sh</c> blocks are examples that are not run. Each command runs from the repository root
/// with a <see cref="DemoRun"/>'s environment (its ports, its state dir, the built CLI standing in for <c>./mesh</c>),
/// and its output must show the README's lines: in order, each stretch between <c>...</c> lines contiguous, the first
/// and last anchored to the ends of the output unless a <c>...</c> stands there. Before comparing, the run's ports are
/// turned back into the README's default ports, its state dir into the documented one, and other numbers (pids,
/// counts) into <c>#</c>. A <c>curl</c> command reads state that other processes change, so it is repeated until its
/// output matches (up to 30 seconds).
/// </summary>
internal static partial class Readme
{
    /// <summary>The commands of <paramref name="path"/>'s console blocks, in order.</summary>
    public static IReadOnlyList<ReadmeStep> Steps(string path)
    {
        var steps = new List<ReadmeStep>();
        var inConsole = false;
        string? command = null;
        var expected = new List<string>();
        foreach (var line in File.ReadAllLines(path))
        {
            if (!inConsole)
            {
                inConsole = line.Trim() == "```console";
                continue;
            }

            if (line.Trim() == "```")
            {
                Flush();
                inConsole = false;
            }
            else if (line.StartsWith("$ ", StringComparison.Ordinal))
            {
                Flush();
                command = line[2..];
            }
            else if (command is not null && command.EndsWith('\\') && expected.Count == 0)
            {
                command = command[..^1] + " " + line.Trim();
            }
            else
            {
                expected.Add(line);
            }
        }

        return steps;

        void Flush()
        {
            if (command is not null) steps.Add(new ReadmeStep(command, [.. expected]));
            command = null;
            expected.Clear();
        }
    }

    /// <summary>
    /// Runs every step of <paramref name="readme"/> in <paramref name="demo"/> and checks its output; after each,
    /// <paramref name="after"/> (when given) can check more while the demo is in that state.
    /// </summary>
    /// <param name="readme">The README.</param>
    /// <param name="demo">The run: environment, ports, state dir.</param>
    /// <param name="documentedStateDir">The state dir the README shows, e.g. <c>demos/connect/.run</c>.</param>
    /// <param name="defaultPorts">The README's port for each of the run's port variables.</param>
    /// <param name="after">Called with each step and its result.</param>
    public static async Task<IReadOnlyList<(ReadmeStep Step, CommandResult Result)>> RunAsync(string readme, DemoRun demo, string documentedStateDir,
        IReadOnlyDictionary<string, int> defaultPorts, Func<ReadmeStep, CommandResult, Task>? after = null)
    {
        var steps = Steps(readme);
        Assert.NotEmpty(steps);
        var toDefault = demo.Ports.ToDictionary(p => p.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            p => defaultPorts[p.Key].ToString(System.Globalization.CultureInfo.InvariantCulture));
        var fromDefault = toDefault.ToDictionary(p => p.Value, p => p.Key);
        var results = new List<(ReadmeStep, CommandResult)>();
        foreach (var step in steps)
        {
            var command = Localize(step.Command, demo, fromDefault);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                var result = await demo.RunAsync(command);
                var output = Normalize(result.Stdout + result.Stderr, demo.StateDir, documentedStateDir, toDefault);
                var expected = step.Expected.Select(line => Normalize(line, demo.StateDir, documentedStateDir, toDefault)).ToList();
                var mismatch = Mismatch(expected, output.Split('\n').ToList());
                if (mismatch is null)
                {
                    results.Add((step, result));
                    if (after is not null) await after(step, result);
                    break;
                }

                if (!command.StartsWith("curl ", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
                {
                    Assert.Fail($"README {Path.GetFileName(Path.GetDirectoryName(readme))}/{Path.GetFileName(readme)}: `{step.Command}` (run as `{command}`): {mismatch}\n{result}\n{demo.Logs()}");
                }

                await Task.Delay(200);
            }
        }

        return results;
    }

    /// <summary>The command as this run must type it: the built CLI for <c>./mesh</c>, the run's ports for the defaults.</summary>
    private static string Localize(string command, DemoRun demo, IReadOnlyDictionary<string, string> fromDefault)
    {
        if (command.StartsWith("./mesh ", StringComparison.Ordinal)) command = $"\"{demo.MeshWrapper}\" {command["./mesh ".Length..]}";
        return Digits().Replace(command, m => fromDefault.TryGetValue(m.Value, out var actual) ? actual : m.Value);
    }

    private static string Normalize(string text, string stateDir, string documentedStateDir, IReadOnlyDictionary<string, string> toDefault)
    {
        text = text.Replace(stateDir, documentedStateDir, StringComparison.Ordinal);
        text = Pid().Replace(text, "(pid #)");
        var defaults = toDefault.Values.ToHashSet();
        text = Digits().Replace(text, m => toDefault.TryGetValue(m.Value, out var port) ? port : defaults.Contains(m.Value) ? m.Value : "#");
        return string.Join('\n', text.Split('\n').Select(line => line.TrimEnd()));
    }

    /// <summary>Why <paramref name="actual"/> does not show <paramref name="expected"/>; null when it does.</summary>
    private static string? Mismatch(IReadOnlyList<string> expected, List<string> actual)
    {
        while (actual.Count > 0 && actual[^1].Length == 0) actual.RemoveAt(actual.Count - 1);
        var lines = expected.ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0) return null;

        var segments = new List<List<string>> { new() };
        foreach (var line in lines)
        {
            if (line.Trim() == "...") segments.Add([]);
            else segments[^1].Add(line);
        }

        var anchoredStart = segments[0].Count > 0;
        var anchoredEnd = segments[^1].Count > 0;
        var position = 0;
        for (var s = 0; s < segments.Count; s++)
        {
            var segment = segments[s];
            if (segment.Count == 0) continue;
            var found = -1;
            for (var at = position; at + segment.Count <= actual.Count; at++)
            {
                if (segment.Select((line, i) => line == actual[at + i]).All(x => x))
                {
                    found = at;
                    break;
                }

                if (s == 0 && anchoredStart) break;
            }

            if (found < 0) return $"the output does not show, in order:\n{string.Join('\n', segment)}";
            position = found + segment.Count;
        }

        if (anchoredEnd && position != actual.Count) return $"the output goes on after what the README shows:\n{string.Join('\n', actual.Skip(position))}";
        return null;
    }

    [GeneratedRegex(@"\(pid \d+\)")]
    private static partial Regex Pid();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();
}
