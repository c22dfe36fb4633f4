using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Local;

/// <summary>
/// Keeps the services and checks registered over HTTP under the data directory, so they survive a restart as in
/// Consul: one file per registration holding the request body as received, written atomically (temp file and
/// rename) and removed on deregistration. Without a data directory nothing is kept.
/// </summary>
internal sealed partial class LocalPersistence
{
    private readonly string? _services;
    private readonly string? _checks;
    private readonly ILogger _logger;

    public LocalPersistence(string dataDir, ILogger<LocalPersistence> logger)
    {
        _logger = logger;
        if (string.IsNullOrEmpty(dataDir)) return;
        _services = Directory.CreateDirectory(Path.Combine(dataDir, "services")).FullName;
        _checks = Directory.CreateDirectory(Path.Combine(dataDir, "checks")).FullName;
    }

    /// <summary>Whether registrations are kept.</summary>
    public bool Enabled => _services is not null;

    public void SaveService(string id, byte[] body) => Save(_services, id, body);

    public void DeleteService(string id) => Delete(_services, id);

    public void SaveCheck(string id, byte[] body) => Save(_checks, id, body);

    public void DeleteCheck(string id) => Delete(_checks, id);

    /// <summary>The kept service registrations, as (file, body).</summary>
    public IEnumerable<(string File, byte[] Body)> Services() => Load(_services);

    /// <summary>The kept check registrations, as (file, body).</summary>
    public IEnumerable<(string File, byte[] Body)> Checks() => Load(_checks);

    private void Save(string? dir, string id, byte[] body)
    {
        if (dir is null) return;
        var path = PathFor(dir, id);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, body);
        File.Move(temp, path, overwrite: true);
    }

    private static void Delete(string? dir, string id)
    {
        if (dir is not null) File.Delete(PathFor(dir, id));
    }

    private IEnumerable<(string, byte[])> Load(string? dir)
    {
        if (dir is null) yield break;
        foreach (var file in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            byte[] body;
            try
            {
                body = File.ReadAllBytes(file);
            }
            catch (IOException ex)
            {
                LogUnreadable(file, ex);
                continue;
            }
            yield return (file, body);
        }
    }

    // IDs may hold any character; a hash of the ID is always a safe file name.
    private static string PathFor(string dir, string id) =>
        Path.Combine(dir, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id))) + ".json");

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot read persisted registration {File}")]
    private partial void LogUnreadable(string file, Exception ex);
}
