using System.Text.Json;
using Mesh.Agent.Local;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// /v1/agent/services, /service/*, /checks, /check/*, /maintenance, /health/service/*: the agent's own services and
// checks. Writes change the local state; anti-entropy carries them into the catalog.
internal sealed partial class HttpApi
{
    private LocalState Local => _local ?? throw new ApiException(500, "the agent has no local state");

    /// <summary>Where HTTP registrations are kept across restarts (set by the host; null keeps nothing).</summary>
    public LocalPersistence? Persistence { get; set; }

    /// <summary>Registers the services and checks kept from earlier runs; a file that no longer parses is skipped.</summary>
    internal void RestorePersisted(Action<string, string> onSkipped)
    {
        if (Persistence is null) return;
        foreach (var (file, body) in Persistence.Services())
        {
            try
            {
                using var doc = JsonIn.Parse(body);
                var existing = Local.Services();
                var reg = AgentServiceBody.Service(doc.RootElement, _identity.NodeName, existing.Values.ToList());
                // A service defined in a config file wins over a kept registration of the same ID.
                if (existing.ContainsKey(reg.Service.ID)) continue;
                ApplyServiceRegistration(reg, replace: false, existing);
            }
            catch (ApiException ex)
            {
                onSkipped(file, ex.Message);
            }
        }
        foreach (var (file, body) in Persistence.Checks())
        {
            try
            {
                using var doc = JsonIn.Parse(body);
                var spec = AgentServiceBody.Check(doc.RootElement);
                if (Local.Checks().ContainsKey(spec.Definition.CheckID)) continue;
                Local.AddCheck(spec);
            }
            catch (Exception ex) when (ex is ApiException or ArgumentException)
            {
                onSkipped(file, ex.Message);
            }
        }
    }

    private async Task AgentServices(ApiRequest r)
    {
        var filter = Filter(r);
        var services = Local.Services().Values.OrderBy(s => s.ID, StringComparer.Ordinal).ToList();
        var selected = filter is null ? services : services.Where(s => Matches(filter, w => WriteAgentService(w, s))).ToList();
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            foreach (var s in selected)
            {
                w.WritePropertyName(s.ID);
                WriteAgentService(w, s);
            }
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task AgentService(ApiRequest r)
    {
        var id = RequireName(r, "service ID");
        if (!Local.Services().TryGetValue(id, out var s)) throw new ApiException(404, $"unknown service ID: {id}");
        await JsonOut.WriteAsync(r.Http, Pretty(r), w => WriteAgentService(w, s)).ConfigureAwait(false);
    }

    private async Task AgentServiceRegister(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        using var doc = JsonIn.Parse(body);
        var existing = Local.Services();
        var reg = AgentServiceBody.Service(doc.RootElement, _identity.NodeName, existing.Values.ToList());
        var replace = r.Has("replace-existing-checks") && r.Get("replace-existing-checks") is not ("false" or "0");
        ApplyServiceRegistration(reg, replace, existing);
        Persistence?.SaveService(reg.Service.ID, body);
        r.Http.Response.StatusCode = 200;
    }

    /// <summary>Registers a parsed service (and its sidecar) with the local state; also used to replay persisted ones.</summary>
    internal void ApplyServiceRegistration(AgentServiceBody.Registration reg, bool replace, IReadOnlyDictionary<string, ServiceInstance> existing)
    {
        try
        {
            Local.AddService(reg.Service, reg.Checks, replace);
            if (reg.Sidecar is not null) Local.AddService(reg.Sidecar, reg.SidecarChecks, replaceExistingChecks: true);
            // Re-registering a service without its sidecar removes the sidecar it had, as Consul does.
            else if (existing.Values.FirstOrDefault(s => s.Kind == "connect-proxy" && s.ID == $"{reg.Service.ID}-sidecar-proxy") is { } old)
                Local.RemoveService(old.ID);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
    }

    private Task AgentServiceDeregister(ApiRequest r)
    {
        var id = RequireName(r, "service ID");
        if (!Local.RemoveService(id)) throw new ApiException(404, $"Unknown service ID \"{id}\"");
        Persistence?.DeleteService(id);
        r.Http.Response.StatusCode = 200;
        return Task.CompletedTask;
    }

    private Task AgentServiceMaintenance(ApiRequest r) => Maintenance(r, RequireName(r, "service ID"));

    private Task AgentMaintenance(ApiRequest r) => Maintenance(r, null);

    private Task Maintenance(ApiRequest r, string? serviceId)
    {
        var enableText = r.Get("enable");
        if (enableText is null) throw ApiException.BadRequest("Missing value for enable");
        if (!bool.TryParse(enableText, out var enable)) throw ApiException.BadRequest($"Invalid value for enable: \"{enableText}\"");
        if (!Local.SetMaintenance(serviceId, enable, r.Get("reason") ?? ""))
            throw new ApiException(404, $"Unknown service ID \"{serviceId}\"");
        r.Http.Response.StatusCode = 200;
        return Task.CompletedTask;
    }

    private async Task AgentChecks(ApiRequest r)
    {
        var filter = Filter(r);
        var checks = Local.Checks().Values.OrderBy(c => c.CheckID, StringComparer.Ordinal).ToList();
        var selected = filter is null ? checks : checks.Where(c => Matches(filter, w => CatalogJson.Check(w, c))).ToList();
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            foreach (var c in selected)
            {
                w.WritePropertyName(c.CheckID);
                CatalogJson.Check(w, c);
            }
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task AgentCheckRegister(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        using var doc = JsonIn.Parse(body);
        var spec = AgentServiceBody.Check(doc.RootElement);
        try
        {
            Local.AddCheck(spec);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        Persistence?.SaveCheck(spec.Definition.CheckID, body);
        r.Http.Response.StatusCode = 200;
    }

    private Task AgentCheckDeregister(ApiRequest r)
    {
        var id = RequireName(r, "check ID");
        if (!Local.RemoveCheck(id)) throw new ApiException(404, $"Unknown check ID \"{id}\"");
        Persistence?.DeleteCheck(id);
        r.Http.Response.StatusCode = 200;
        return Task.CompletedTask;
    }

    private Task AgentCheckPass(ApiRequest r) => TtlUpdate(r, HealthStatus.Passing, r.Get("note") ?? "");

    private Task AgentCheckWarn(ApiRequest r) => TtlUpdate(r, HealthStatus.Warning, r.Get("note") ?? "");

    private Task AgentCheckFail(ApiRequest r) => TtlUpdate(r, HealthStatus.Critical, r.Get("note") ?? "");

    private async Task AgentCheckUpdate(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        using var doc = JsonIn.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("Request decode failed: the body must be a JSON object");
        var status = JsonIn.String(doc.RootElement, "Status") ?? "";
        if (!HealthStatus.IsValid(status)) throw ApiException.BadRequest($"Invalid check status: \"{status}\"");
        await TtlUpdate(r, status, JsonIn.String(doc.RootElement, "Output") ?? "").ConfigureAwait(false);
    }

    private Task TtlUpdate(ApiRequest r, string status, string output)
    {
        var id = RequireName(r, "check ID");
        var (code, error) = Local.UpdateTtl(id, status, output);
        if (error is not null) throw new ApiException(code, error);
        r.Http.Response.StatusCode = 200;
        return Task.CompletedTask;
    }

    private async Task AgentHealthById(ApiRequest r)
    {
        var id = RequireName(r, "service ID");
        if (!Local.Services().TryGetValue(id, out var s))
        {
            await WriteHealthAsync(r, 404, $"ServiceId {id} not found", null).ConfigureAwait(false);
            return;
        }
        var (status, entry) = ServiceHealthOf(s);
        await WriteHealthAsync(r, HealthCode(status), status, w => entry(w)).ConfigureAwait(false);
    }

    private async Task AgentHealthByName(ApiRequest r)
    {
        var name = RequireName(r, "service name");
        var entries = Local.Services().Values.Where(s => s.Service == name).OrderBy(s => s.ID, StringComparer.Ordinal).Select(ServiceHealthOf).ToList();
        if (entries.Count == 0)
        {
            await WriteHealthAsync(r, 404, $"ServiceName {name} Not Found", null).ConfigureAwait(false);
            return;
        }
        var worst = Worst(entries.Select(e => e.Status));
        await WriteHealthAsync(r, HealthCode(worst), worst, w =>
        {
            w.WriteStartArray();
            foreach (var (_, write) in entries) write(w);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private (string Status, Action<Utf8JsonWriter> Write) ServiceHealthOf(ServiceInstance s)
    {
        var checks = Local.Checks().Values.Where(c => c.ServiceID == s.ID || c.ServiceID.Length == 0).OrderBy(c => c.CheckID, StringComparer.Ordinal).ToList();
        var status = checks.Any(c => c.CheckID is LocalState.NodeMaintenanceId || c.CheckID == LocalState.ServiceMaintenancePrefix + s.ID)
            ? HealthStatus.Maintenance : Worst(checks.Select(c => c.Status));
        return (status, w =>
        {
            w.WriteStartObject();
            w.WriteString("AggregatedStatus", status);
            w.WritePropertyName("Service");
            WriteAgentService(w, s);
            w.WriteStartArray("Checks");
            foreach (var c in checks) CatalogJson.Check(w, c);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static string Worst(IEnumerable<string> statuses)
    {
        var list = statuses.ToList();
        return list.Contains(HealthStatus.Maintenance) ? HealthStatus.Maintenance
            : list.Contains(HealthStatus.Critical) ? HealthStatus.Critical
            : list.Contains(HealthStatus.Warning) ? HealthStatus.Warning : HealthStatus.Passing;
    }

    /// <summary>Consul's status codes: 200 passing, 429 warning, 503 critical or maintenance.</summary>
    private static int HealthCode(string status) => status switch
    {
        HealthStatus.Passing => 200,
        HealthStatus.Warning => 429,
        _ => 503,
    };

    private async Task WriteHealthAsync(ApiRequest r, int code, string text, Action<Utf8JsonWriter>? json)
    {
        if (r.Get("format") == "text" || json is null)
        {
            await WriteTextAsync(r.Http, code, text).ConfigureAwait(false);
            return;
        }
        await JsonOut.WriteAsync(r.Http, Pretty(r), json, code).ConfigureAwait(false);
    }

    private void WriteAgentService(Utf8JsonWriter w, ServiceInstance s)
    {
        w.WriteStartObject();
        if (s.Kind.Length > 0) w.WriteString("Kind", s.Kind);
        w.WriteString("ID", s.ID);
        w.WriteString("Service", s.Service);
        w.WriteStartArray("Tags");
        foreach (var t in s.Tags) w.WriteStringValue(t);
        w.WriteEndArray();
        JsonOut.StringMap(w, "Meta", s.Meta);
        w.WriteNumber("Port", s.Port);
        w.WriteString("Address", s.Address);
        w.WriteStartObject("Weights");
        w.WriteNumber("Passing", s.Weights.Passing);
        w.WriteNumber("Warning", s.Weights.Warning);
        w.WriteEndObject();
        w.WriteBoolean("EnableTagOverride", s.EnableTagOverride);
        if (s.ProxyJson is not null)
        {
            w.WritePropertyName("Proxy");
            w.WriteRawValue(s.ProxyJson);
        }
        if (s.ConnectJson is not null)
        {
            w.WritePropertyName("Connect");
            w.WriteRawValue(s.ConnectJson);
        }
        w.WriteString("Datacenter", _identity.Datacenter);
        w.WriteEndObject();
    }
}
