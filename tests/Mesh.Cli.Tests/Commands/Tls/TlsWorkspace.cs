using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Tls;

/// <summary>
/// A temporary directory that <c>mesh tls</c> runs in (in-process, as its working directory) and openssl judges the
/// results in; deleted at the end of the test.
/// </summary>
internal sealed class TlsWorkspace : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("mesh-tls-").FullName;

    /// <summary>Runs <c>mesh</c> with <paramref name="args"/> in <see cref="Dir"/> (or a subdirectory of it).</summary>
    public Task<CliRun> MeshAsync(params string[] args) => MeshInAsync("", args);

    public Task<CliRun> MeshInAsync(string subdirectory, params string[] args)
    {
        var dir = Path.Combine(Dir, subdirectory);
        Directory.CreateDirectory(dir);
        return new CliHarness { WorkingDirectory = dir }.RunAsync(args);
    }

    /// <summary>Runs <c>mesh</c> and fails the test unless it exits 0.</summary>
    public async Task<CliRun> MeshOkAsync(params string[] args)
    {
        var run = await MeshAsync(args);
        Assert.True(run.ExitCode == 0, $"mesh {string.Join(' ', args)} exited with {run.ExitCode}:\n{run.Err}");
        return run;
    }

    /// <summary><c>openssl x509 -noout -text</c> of a certificate file.</summary>
    public Task<string> TextAsync(string certFile) => Openssl.OkAsync(Dir, "x509", "-in", certFile, "-noout", "-text");

    /// <summary>The names of the files in the directory, sorted.</summary>
    public string[] Files() => Directory.GetFiles(Dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();

    public string Read(string file) => File.ReadAllText(Path.Combine(Dir, file));

    public void Write(string file, string text) => File.WriteAllText(Path.Combine(Dir, file), text);

    /// <summary>
    /// Checks with openssl that the key is an EC P-256 key, readable by its owner only, and that it is the key of the
    /// certificate.
    /// </summary>
    public async Task AssertKeyOfAsync(string keyFile, string certFile)
    {
        Assert.Contains("ASN1 OID: prime256v1", await Openssl.OkAsync(Dir, "ec", "-in", keyFile, "-noout", "-text"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Dir, keyFile)));
        var fromKey = await Openssl.OkAsync(Dir, "pkey", "-in", keyFile, "-pubout");
        var fromCert = await Openssl.OkAsync(Dir, "x509", "-in", certFile, "-noout", "-pubkey");
        Assert.Equal(fromCert, fromKey);
    }

    /// <summary>
    /// Checks with <c>openssl x509 -checkend</c> that the certificate is valid for about <paramref name="days"/> days:
    /// still valid a day before, expired a day after.
    /// </summary>
    public async Task AssertValidForDaysAsync(string certFile, int days)
    {
        var before = await Openssl.RunAsync(Dir, "x509", "-in", certFile, "-noout", "-checkend", ((days - 1) * 86400L).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(before.ExitCode == 0, before.Output);
        var after = await Openssl.RunAsync(Dir, "x509", "-in", certFile, "-noout", "-checkend", ((days + 1) * 86400L).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(after.ExitCode == 1, after.Output);
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
