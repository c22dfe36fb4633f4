namespace Mesh.Cli;

/// <summary>
/// Everything a command touches outside its arguments: streams, environment and cancellation. Commands never use
/// <see cref="Console"/> directly, so tests run them in-process and in parallel.
/// </summary>
internal sealed record CliContext(TextWriter Out, TextWriter Err, TextReader In, Func<string, string?> GetEnv, CancellationToken Cancellation)
{
    /// <summary>
    /// The directory that commands creating files (<c>tls</c>) resolve relative paths against: the process's current
    /// directory, unless tests give each run a directory of its own so runs can go side by side.
    /// </summary>
    public string WorkingDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>The real process's console and environment; cancelled on Ctrl-C / SIGTERM by the caller.</summary>
    public static CliContext FromConsole(CancellationToken cancellation) =>
        new(Console.Out, Console.Error, Console.In, Environment.GetEnvironmentVariable, cancellation);
}
