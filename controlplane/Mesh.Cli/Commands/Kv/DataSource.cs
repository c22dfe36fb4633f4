namespace Mesh.Cli.Commands.Kv;

/// <summary>
/// Consul's data-argument convention: <c>@path</c> reads a file, a lone <c>-</c> reads stdin, anything else (also
/// "-foo") is the data itself.
/// </summary>
internal static class DataSource
{
    /// <summary>Loads the data; throws <see cref="IOException"/> with Consul's wording when a file or stdin fails.</summary>
    public static async Task<string> LoadAsync(string data, CliContext ctx)
    {
        if (data.Length == 0) return "";
        if (data[0] == '@')
        {
            try
            {
                return await File.ReadAllTextAsync(data[1..], ctx.Cancellation);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"Failed to read file: {e.Message}", e);
            }
        }
        if (data == "-")
        {
            try
            {
                return await ctx.In.ReadToEndAsync(ctx.Cancellation);
            }
            catch (IOException e)
            {
                throw new IOException($"Failed to read stdin: {e.Message}", e);
            }
        }
        return data;
    }
}
