using System.Text.Json;
using Mesh.Agent.Config;
using Mesh.Agent.Http;
using Mesh.State.Tables;

namespace Mesh.Agent.Local;

/// <summary>
/// Services and checks defined in config files. At start they are registered with the local state; on a reload
/// only the difference is applied: definitions that went away are removed, new or changed ones (re)registered,
/// unchanged ones left alone. Services registered over HTTP are never touched.
/// </summary>
internal sealed class ConfigDefinitions
{
    private readonly string _node;
    private readonly object _gate = new();
    private Dictionary<string, string> _services = new(StringComparer.Ordinal);
    private Dictionary<string, string> _checks = new(StringComparer.Ordinal);

    public ConfigDefinitions(string node) => _node = node;

    /// <summary>Parses every definition, so a bad one is reported before anything is changed.</summary>
    /// <exception cref="ConfigException">A definition is invalid; the message names its file and position.</exception>
    public static void Validate(AgentConfig config, string node)
    {
        foreach (var d in config.Services) ParseService(d, node, []);
        foreach (var d in config.Checks) ParseCheck(d);
    }

    /// <summary>Brings the local state in line with <paramref name="config"/>'s definitions.</summary>
    /// <exception cref="ConfigException">A definition is invalid; nothing was changed.</exception>
    public void Apply(AgentConfig config, LocalState local)
    {
        lock (_gate)
        {
            var existing = local.Services().Values.ToList();
            var services = new List<(string Json, AgentServiceBody.Registration Reg)>(config.Services.Count);
            foreach (var d in config.Services)
            {
                var parsed = ParseService(d, _node, existing);
                services.Add((d.Json, parsed));
                // A sidecar without a port gets the first free one in the agent's range: the next definition's sidecar
                // must see this one's as taken, or two sidecars from one config directory share a port.
                if (parsed.Sidecar is not null) existing.Add(parsed.Sidecar);
            }

            var checks = config.Checks.Select(d => (d.Json, Spec: ParseCheck(d))).ToList();

            var newServices = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (json, reg) in services) newServices[reg.Service.ID] = json;
            var newChecks = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (json, spec) in checks) newChecks[spec.Definition.CheckID] = json;

            foreach (var id in _checks.Keys.Where(id => !newChecks.ContainsKey(id))) local.RemoveCheck(id);
            foreach (var id in _services.Keys.Where(id => !newServices.ContainsKey(id))) local.RemoveService(id);
            foreach (var (json, reg) in services)
            {
                if (_services.TryGetValue(reg.Service.ID, out var old) && old == json) continue;
                try
                {
                    local.AddService(reg.Service, reg.Checks, replaceExistingChecks: true);
                    if (reg.Sidecar is not null) local.AddService(reg.Sidecar, reg.SidecarChecks, replaceExistingChecks: true);
                }
                catch (ArgumentException ex)
                {
                    throw new ConfigException($"service {reg.Service.ID}: {ex.Message}");
                }
            }
            foreach (var (json, spec) in checks)
            {
                if (_checks.TryGetValue(spec.Definition.CheckID, out var old) && old == json) continue;
                try
                {
                    local.AddCheck(spec);
                }
                catch (ArgumentException ex)
                {
                    throw new ConfigException($"check {spec.Definition.CheckID}: {ex.Message}");
                }
            }
            _services = newServices;
            _checks = newChecks;
        }
    }

    // The same leniency as the file they came from (comments, trailing commas), since their text is cut from it.
    private static readonly JsonDocumentOptions FileOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static AgentServiceBody.Registration ParseService(ConfigDefinition d, string node, IReadOnlyCollection<ServiceInstance> existing)
    {
        using var doc = JsonDocument.Parse(d.Json, FileOptions);
        try
        {
            return AgentServiceBody.Service(doc.RootElement, node, existing);
        }
        catch (ApiException ex)
        {
            throw new ConfigException($"{d.Source}: {ex.Message}");
        }
    }

    private static LocalCheckSpec ParseCheck(ConfigDefinition d)
    {
        using var doc = JsonDocument.Parse(d.Json, FileOptions);
        try
        {
            return AgentServiceBody.Check(doc.RootElement);
        }
        catch (ApiException ex)
        {
            throw new ConfigException($"{d.Source}: {ex.Message}");
        }
    }
}
