using Mesh.Agent.Checks;
using Mesh.State.Tables;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Local;

/// <summary>
/// The services and checks registered with this agent: the source of truth that anti-entropy copies into the
/// catalog. It runs each check (a monitor for interval checks, a timer for TTL checks, a mirror for alias checks)
/// and signals <see cref="Changed"/> whenever anything the catalog should see changes.
/// </summary>
internal sealed partial class LocalState : IAsyncDisposable
{
    /// <summary>The check ID of node maintenance mode.</summary>
    public const string NodeMaintenanceId = "_node_maintenance";

    /// <summary>The check ID prefix of service maintenance mode.</summary>
    public const string ServiceMaintenancePrefix = "_service_maintenance:";

    private readonly object _gate = new();
    private readonly Dictionary<string, ServiceInstance> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LocalCheck> _checks = new(StringComparer.Ordinal);
    private readonly string _node;
    private readonly CheckProbeFactory _probes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _aliasCount;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    private readonly Mesh.State.StateStore? _store;

    public LocalState(string node, CheckProbeFactory probes, TimeProvider time, ILogger<LocalState> logger, Mesh.State.StateStore? store = null)
    {
        _store = store;
        _node = node;
        _probes = probes;
        _time = time;
        _logger = logger;
    }

    /// <summary>Completes at the next change; take a fresh task after each completion.</summary>
    public Task Changed
    {
        get { lock (_gate) return _changed.Task; }
    }

    /// <summary>The local services, keyed by ID.</summary>
    public IReadOnlyDictionary<string, ServiceInstance> Services()
    {
        lock (_gate) return new Dictionary<string, ServiceInstance>(_services, StringComparer.Ordinal);
    }

    /// <summary>The local checks' catalog rows, keyed by check ID.</summary>
    public IReadOnlyDictionary<string, HealthCheck> Checks()
    {
        lock (_gate) return _checks.ToDictionary(c => c.Key, c => c.Value.Row, StringComparer.Ordinal);
    }

    /// <summary>Services whose critical check has been critical longer than its <c>DeregisterCriticalServiceAfter</c>.</summary>
    public IReadOnlyList<string> ServicesToReap(DateTime now)
    {
        lock (_gate)
        {
            return _checks.Values
                .Where(c => c.Definition.DeregisterCriticalServiceAfter > TimeSpan.Zero && c.Definition.ServiceID.Length > 0 &&
                            c.CriticalSince is { } since && now - since >= c.Definition.DeregisterCriticalServiceAfter)
                .Select(c => c.Definition.ServiceID).Distinct().ToList();
        }
    }

    /// <summary>How long until the next service is due for reaping; null when none is on its way.</summary>
    public TimeSpan? NextReapIn(DateTime now)
    {
        lock (_gate)
        {
            var due = _checks.Values
                .Where(c => c.Definition.DeregisterCriticalServiceAfter > TimeSpan.Zero && c.Definition.ServiceID.Length > 0 && c.CriticalSince is not null)
                .Select(c => c.CriticalSince!.Value + c.Definition.DeregisterCriticalServiceAfter - now)
                .DefaultIfEmpty(TimeSpan.MaxValue).Min();
            return due == TimeSpan.MaxValue ? null : due < TimeSpan.Zero ? TimeSpan.Zero : due;
        }
    }

    /// <summary>
    /// Adds or replaces a service and its checks. With <paramref name="replaceExistingChecks"/> the service's other
    /// checks go; otherwise they stay, as Consul's <c>?replace-existing-checks</c> decides.
    /// </summary>
    /// <exception cref="ArgumentException">A check cannot run (its message names the problem).</exception>
    public void AddService(ServiceInstance service, IReadOnlyList<LocalCheckSpec> checks, bool replaceExistingChecks)
    {
        var prepared = checks.Select(Prepare).ToList();
        List<LocalCheck> stopped;
        lock (_gate)
        {
            _services[service.ID] = service with { Node = _node };
            stopped = replaceExistingChecks
                ? _checks.Values.Where(c => c.Definition.ServiceID == service.ID && !c.ID.StartsWith(ServiceMaintenancePrefix, StringComparison.Ordinal)
                                            && prepared.All(p => p.ID != c.ID)).ToList()
                : [];
            foreach (var c in stopped) Forget(c.ID, out _);
            foreach (var c in prepared) stopped.AddRange(Install(c));
            RefreshServiceFields(service.ID);
            RecomputeAliases();
            Signal();
        }
        StopAll(stopped);
        foreach (var c in prepared) Start(c);
    }

    /// <summary>Removes a service, its checks and the sidecar proxy registered for it; false when it is not registered here.</summary>
    public bool RemoveService(string id)
    {
        List<LocalCheck> stopped;
        lock (_gate)
        {
            if (!_services.Remove(id)) return false;
            var removed = new HashSet<string>(StringComparer.Ordinal) { id };
            if (_services.TryGetValue(id + "-sidecar-proxy", out var sidecar) && sidecar.Kind == "connect-proxy" &&
                ProxyDestinationId(sidecar) == id)
            {
                _services.Remove(sidecar.ID);
                removed.Add(sidecar.ID);
            }
            stopped = _checks.Values.Where(c => removed.Contains(c.Definition.ServiceID)).ToList();
            foreach (var c in stopped) Forget(c.ID, out _);
            RecomputeAliases();
            Signal();
        }
        StopAll(stopped);
        return true;
    }

    /// <summary>Adds or replaces one check.</summary>
    /// <exception cref="ArgumentException">The check cannot run, or names a service that is not registered here.</exception>
    public void AddCheck(LocalCheckSpec spec)
    {
        var check = Prepare(spec);
        List<LocalCheck> stopped;
        lock (_gate)
        {
            if (spec.Definition.ServiceID.Length > 0 && !_services.ContainsKey(spec.Definition.ServiceID))
                throw new ArgumentException($"ServiceID \"{spec.Definition.ServiceID}\" does not exist");
            stopped = Install(check);
            RecomputeAliases();
            Signal();
        }
        StopAll(stopped);
        Start(check);
    }

    /// <summary>Removes a check; false when it is not registered here.</summary>
    public bool RemoveCheck(string id)
    {
        LocalCheck? removed;
        lock (_gate)
        {
            if (!Forget(id, out removed)) return false;
            RecomputeAliases();
            Signal();
        }
        StopAll([removed!]);
        return true;
    }

    /// <summary>Sets a TTL check's status and output (<c>/v1/agent/check/pass|warn|fail|update</c>).</summary>
    /// <returns>200 and no error on success; otherwise the status code and why (unknown check, not a TTL check, bad status).</returns>
    public (int Status, string? Error) UpdateTtl(string id, string status, string output)
    {
        TtlCheck? ttl;
        lock (_gate)
        {
            if (!_checks.TryGetValue(id, out var check)) return (404, $"Unknown check ID \"{id}\"");
            ttl = check.Ttl;
            if (ttl is null) return (400, $"CheckID \"{id}\" does not have associated TTL");
        }
        try
        {
            ttl.Update(status, output);
            return (200, null);
        }
        catch (ArgumentException ex)
        {
            return (400, ex.Message);
        }
        catch (ObjectDisposedException)
        {
            // Deregistered between the lookup and the update.
            return (404, $"Unknown check ID \"{id}\"");
        }
    }

    /// <summary>Turns maintenance mode on or off for a service (<paramref name="serviceId"/>) or the node (null).</summary>
    /// <returns>False when the service is not registered here.</returns>
    public bool SetMaintenance(string? serviceId, bool enable, string reason)
    {
        var id = serviceId is null ? NodeMaintenanceId : ServiceMaintenancePrefix + serviceId;
        lock (_gate)
        {
            if (serviceId is not null && !_services.ContainsKey(serviceId)) return false;
        }
        if (!enable)
        {
            RemoveCheck(id);
            return true;
        }
        var what = serviceId is null ? "node" : "service";
        var notes = reason.Length > 0 ? reason
            : $"Maintenance mode is enabled for this {what}, but no reason was provided. This is a default message.";
        var definition = new CheckDefinition
        {
            CheckID = id,
            Name = serviceId is null ? "Node Maintenance Mode" : "Service Maintenance Mode",
            Notes = notes,
            ServiceID = serviceId ?? "",
            Status = HealthStatus.Critical,
        };
        AddCheck(new LocalCheckSpec(definition, "maintenance", null));
        return true;
    }

    private static string? ProxyDestinationId(ServiceInstance proxy)
    {
        if (proxy.ProxyJson is null) return null;
        using var doc = System.Text.Json.JsonDocument.Parse(proxy.ProxyJson);
        return doc.RootElement.TryGetProperty("DestinationServiceID", out var d) && d.ValueKind == System.Text.Json.JsonValueKind.String
            ? d.GetString() : null;
    }

    private LocalCheck Prepare(LocalCheckSpec spec)
    {
        var d = spec.Definition;
        if (spec.Type is not ("alias" or "maintenance") && d.Validate() is { } problem) throw new ArgumentException(problem);
        if (d.IsIntervalCheck)
        {
            try
            {
                _ = _probes.Create(d);
            }
            catch (InvalidOperationException ex)
            {
                // Script checks while enable_script_checks is off: the caller's mistake, not the agent's.
                throw new ArgumentException(ex.Message, ex);
            }
        }
        // An alias of another node is answered from the catalog; one of this node, from the local state.
        var remote = spec.AliasNode is { Length: > 0 } n && n != _node;
        if (remote && _store is null) throw new ArgumentException("alias checks of other nodes need the catalog");
        return new LocalCheck
        {
            Definition = d,
            AliasService = remote ? null : spec.AliasService,
            AliasNode = remote ? spec.AliasNode : null,
            RemoteAliasService = remote ? spec.AliasService : null,
            Type = spec.Type,
            Row = new HealthCheck
            {
                Node = _node,
                CheckID = d.CheckID,
                Name = d.Name,
                Notes = d.Notes,
                Status = d.Status,
                ServiceID = d.ServiceID,
                Type = spec.Type,
            },
            CriticalSince = d.Status == HealthStatus.Critical ? _time.GetUtcNow().UtcDateTime : null,
        };
    }

    // Under the gate: puts the check in place and returns the one it replaced (to be stopped outside the gate).
    private List<LocalCheck> Install(LocalCheck check)
    {
        var replaced = _checks.Remove(check.ID, out var old) ? new List<LocalCheck> { old } : [];
        if (old?.AliasService is not null) _aliasCount--;
        if (check.Definition.ServiceID.Length > 0 && _services.TryGetValue(check.Definition.ServiceID, out var service))
            check.Row = check.Row with { ServiceName = service.Service, ServiceTags = service.Tags };
        _checks[check.ID] = check;
        if (check.AliasService is not null) _aliasCount++;
        return replaced;
    }

    // Under the gate: forgets a check (the caller stops it outside the gate).
    private bool Forget(string id, out LocalCheck? removed)
    {
        if (!_checks.Remove(id, out removed)) return false;
        if (removed.AliasService is not null) _aliasCount--;
        return true;
    }

    private void Start(LocalCheck check)
    {
        var d = check.Definition;
        if (check.AliasNode is not null)
            check.Alias = new AliasWatcher(_store!, check.AliasNode, check.RemoteAliasService, r => OnResult(check, r));
        else if (d.IsIntervalCheck)
            check.Monitor = new CheckMonitor(d, _probes.Create(d), r => OnResult(check, r), _logger);
        else if (d.IsTtl)
            check.Ttl = new TtlCheck(d, r => OnResult(check, r), _logger, _time);
    }

    private void OnResult(LocalCheck check, CheckResult result)
    {
        lock (_gate)
        {
            if (_disposed || !_checks.TryGetValue(check.ID, out var current) || !ReferenceEquals(current, check)) return;
            var statusChanged = check.Row.Status != result.Status;
            check.Row = check.Row with { Status = result.Status, Output = result.Output };
            if (result.Status == HealthStatus.Critical) check.CriticalSince ??= _time.GetUtcNow().UtcDateTime;
            else check.CriticalSince = null;
            if (statusChanged) LogStatus(check.ID, result.Status);
            RecomputeAliases();
            Signal();
        }
    }

    // Under the gate. A service check shows its service's current name and tags.
    private void RefreshServiceFields(string serviceId)
    {
        if (!_services.TryGetValue(serviceId, out var service)) return;
        foreach (var c in _checks.Values.Where(c => c.Definition.ServiceID == serviceId))
            c.Row = c.Row with { ServiceName = service.Service, ServiceTags = service.Tags };
    }

    // Under the gate. An alias check is critical when its target is missing or has a critical check, warning when
    // one warns, passing otherwise, as Consul's alias check aggregates.
    private void RecomputeAliases()
    {
        // Most agents have no alias checks (or a few next to thousands of others): count them once, cheaply,
        // rather than grouping every check on every result.
        if (_aliasCount == 0) return;
        foreach (var alias in _checks.Values.Where(c => c.AliasService is not null))
        {
            string status, output;
            if (!_services.ContainsKey(alias.AliasService!))
                (status, output) = (HealthStatus.Critical, $"Service \"{alias.AliasService}\" could not be found.");
            else
            {
                var targets = _checks.Values.Where(c => c.Definition.ServiceID == alias.AliasService && c.AliasService is null).ToList();
                status = targets.Any(c => c.Row.Status == HealthStatus.Critical) ? HealthStatus.Critical
                    : targets.Any(c => c.Row.Status == HealthStatus.Warning) ? HealthStatus.Warning : HealthStatus.Passing;
                output = status == HealthStatus.Passing ? "All checks passing." : $"Aliased service has a {status} check.";
            }
            alias.Row = alias.Row with { Status = status, Output = output };
        }
    }

    // Under the gate.
    private void Signal()
    {
        var fired = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fired.TrySetResult();
    }

    private static void StopAll(IEnumerable<LocalCheck> checks)
    {
        foreach (var c in checks)
        {
            c.Ttl?.Dispose();
            if (c.Monitor is { } m) _ = m.DisposeAsync().AsTask();
            if (c.Alias is { } a) _ = a.DisposeAsync().AsTask();
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<LocalCheck> all;
        lock (_gate)
        {
            _disposed = true;
            all = _checks.Values.ToList();
        }
        foreach (var c in all)
        {
            c.Ttl?.Dispose();
            if (c.Monitor is { } m) await m.DisposeAsync().ConfigureAwait(false);
            if (c.Alias is { } a) await a.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "check {CheckId} is now {Status}")]
    private partial void LogStatus(string checkId, string status);
}

/// <summary>A check to register: its definition, its catalog type, and for alias checks the service it mirrors.</summary>
internal sealed record LocalCheckSpec(CheckDefinition Definition, string Type, string? AliasService, string? AliasNode = null);
