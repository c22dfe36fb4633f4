namespace Mesh.Cli.Commands.Tls;

/// <summary>
/// The files <c>tls</c> commands read and write, relative to <see cref="CliContext.WorkingDirectory"/>. New files never
/// replace existing ones: a CA key written over another would orphan every certificate it signed.
/// </summary>
internal static class TlsFiles
{
    /// <summary>The absolute path of <paramref name="path"/> as the user wrote it.</summary>
    public static string Resolve(CliContext ctx, string path) => Path.GetFullPath(path, ctx.WorkingDirectory);

    /// <summary>Whether anything (a file, a directory) already has the name, as Consul's <c>os.Stat</c> check sees it.</summary>
    public static bool Exists(CliContext ctx, string path) => Path.Exists(Resolve(ctx, path));

    /// <summary>
    /// Reads a file; on failure returns null and <paramref name="error"/> in Go's wording (<c>open x: no such file or
    /// directory</c>), which is what Consul prints after "Error reading CA: ".
    /// </summary>
    public static string? Read(CliContext ctx, string path, out string error)
    {
        error = "";
        try
        {
            return File.ReadAllText(Resolve(ctx, path));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            error = $"open {path}: no such file or directory";
        }
        catch (UnauthorizedAccessException)
        {
            error = $"open {path}: permission denied";
        }
        catch (IOException e)
        {
            error = $"read {path}: {e.Message}";
        }
        return null;
    }

    /// <summary>
    /// Writes a new file all at once: the text goes to a temporary file beside it, which is then moved to the name
    /// without replacing anything there (a reader never sees half a key, and a file that appeared meanwhile is kept).
    /// A <paramref name="secret"/> file is readable by its owner only (0600), as Consul writes private keys.
    /// </summary>
    /// <exception cref="IOException">The name is taken or the directory cannot be written.</exception>
    public static void WriteNew(CliContext ctx, string path, string text, bool secret)
    {
        var target = Resolve(ctx, path);
        var temp = Path.Combine(Path.GetDirectoryName(target) ?? ctx.WorkingDirectory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var writer = new StreamWriter(temp, System.Text.Encoding.ASCII, options))
            {
                writer.Write(text);
            }
            if (Path.Exists(target)) throw new IOException($"{path} already exists.");
            File.Move(temp, target, overwrite: false);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// Writes a new file with <see cref="WriteNew"/> and prints Consul's <c>==&gt; Saved &lt;file&gt;</c>; on failure prints
    /// why to stderr and returns false.
    /// </summary>
    public static bool Save(CliContext ctx, string path, string text, bool secret)
    {
        try
        {
            WriteNew(ctx, path, text, secret);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ctx.Err.WriteLine(e.Message);
            return false;
        }
        ctx.Out.WriteLine($"==> Saved {path}");
        return true;
    }
}
