using Mesh.State.Tables;
namespace Mesh.Agent.Checks;

/// <summary>
/// A health check as Consul's agent accepts it (<c>agent/structs/check_type.go</c> <c>CheckType</c>): exactly one of
/// <see cref="HTTP"/>, <see cref="TCP"/>, <see cref="UDP"/>, <see cref="GRPC"/>, <see cref="Args"/> (script) or
/// <see cref="TTL"/>, plus the scheduling and threshold settings.
/// </summary>
public sealed record CheckDefinition
{
    /// <summary>Consul's interval floor (<c>checks.MinInterval</c>); shorter intervals are raised to it, not refused.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);

    /// <summary>The per-run timeout of network checks when none is given (Consul: 10s).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The per-run timeout of script checks when none is given (Consul: 30s).</summary>
    public static readonly TimeSpan DefaultScriptTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The check's ID, unique on the agent.</summary>
    public string CheckID { get; init; } = string.Empty;

    /// <summary>The check's display name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Free text for humans.</summary>
    public string Notes { get; init; } = string.Empty;

    /// <summary>The service the check belongs to; empty for a node check.</summary>
    public string ServiceID { get; init; } = string.Empty;

    /// <summary>The status before the first result; Consul starts checks critical.</summary>
    public string Status { get; init; } = HealthStatus.Critical;

    /// <summary>Time between runs of an HTTP, TCP, UDP, gRPC or script check.</summary>
    public TimeSpan Interval { get; init; }

    /// <summary>Bound on one run; zero means the type's default (<see cref="DefaultTimeout"/>, <see cref="DefaultScriptTimeout"/>).</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>URL an HTTP check requests.</summary>
    public string HTTP { get; init; } = string.Empty;

    /// <summary>HTTP method; Consul defaults it to GET.</summary>
    public string Method { get; init; } = "GET";

    /// <summary>HTTP request headers, each with its list of values (Consul's <c>map[string][]string</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Header { get; init; }

    /// <summary>HTTP request body.</summary>
    public string Body { get; init; } = string.Empty;

    /// <summary>Skip certificate verification for HTTPS and gRPC-over-TLS checks.</summary>
    public bool TLSSkipVerify { get; init; }

    /// <summary><c>host:port</c> a TCP check connects to.</summary>
    public string TCP { get; init; } = string.Empty;

    /// <summary><c>host:port</c> a UDP check sends a datagram to.</summary>
    public string UDP { get; init; } = string.Empty;

    /// <summary>How long a TTL check stays at its last status without an update before it turns critical.</summary>
    public TimeSpan TTL { get; init; }

    /// <summary>The program and arguments of a script check, run without a shell.</summary>
    public IReadOnlyList<string>? Args { get; init; }

    /// <summary><c>host:port[/service]</c> a gRPC check asks <c>grpc.health.v1.Health/Check</c>.</summary>
    public string GRPC { get; init; } = string.Empty;

    /// <summary>Use TLS for the gRPC check (h2c otherwise).</summary>
    public bool GRPCUseTLS { get; init; }

    /// <summary>Consecutive successes needed before a non-passing check reports passing.</summary>
    public int SuccessBeforePassing { get; init; }

    /// <summary>Consecutive failures needed before a non-critical check reports critical.</summary>
    public int FailuresBeforeCritical { get; init; }

    /// <summary>Deregister the check's service after it has been critical this long (the catalog acts on it).</summary>
    public TimeSpan DeregisterCriticalServiceAfter { get; init; }

    /// <summary>True for a script check (<see cref="Args"/> given).</summary>
    public bool IsScript => Args is { Count: > 0 };

    /// <summary>True for the types that run on an <see cref="Interval"/>.</summary>
    public bool IsIntervalCheck => IsScript || HTTP.Length > 0 || TCP.Length > 0 || UDP.Length > 0 || GRPC.Length > 0;

    /// <summary>True for a TTL check.</summary>
    public bool IsTtl => !IsIntervalCheck && TTL > TimeSpan.Zero;

    /// <summary>The timeout one run gets: <see cref="Timeout"/> or the type's default.</summary>
    public TimeSpan EffectiveTimeout =>
        Timeout > TimeSpan.Zero ? Timeout : IsScript ? DefaultScriptTimeout : DefaultTimeout;

    /// <summary>
    /// The first problem with the definition, or null when it can run. Messages name the field and, where Consul has
    /// the same rule, are Consul's own words (<c>CheckType.Validate</c>, the check register endpoint).
    /// </summary>
    public string? Validate()
    {
        if (!HealthStatus.IsValid(Status))
        {
            // Consul's check register endpoint.
            return "Bad check status";
        }

        var types = (IsScript ? 1 : 0) + (HTTP.Length > 0 ? 1 : 0) + (TCP.Length > 0 ? 1 : 0) + (UDP.Length > 0 ? 1 : 0)
            + (GRPC.Length > 0 ? 1 : 0);
        if (Interval > TimeSpan.Zero && TTL > TimeSpan.Zero)
        {
            return "Interval and TTL cannot both be specified";
        }

        // Consul picks the first type set and ignores the rest; refusing the mix says what would be ignored.
        if (types > 1 || (types == 1 && TTL != TimeSpan.Zero))
        {
            return "Only one of HTTP, TCP, UDP, GRPC, Args (script) or TTL may be specified";
        }

        if (Args is { Count: > 0 } && string.IsNullOrEmpty(Args[0]))
        {
            return "Args must start with the program to run";
        }

        if (IsIntervalCheck && Interval <= TimeSpan.Zero)
        {
            return "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks";
        }

        if (!IsIntervalCheck && TTL <= TimeSpan.Zero)
        {
            return "TTL must be > 0 for TTL checks";
        }

        if (Timeout < TimeSpan.Zero)
        {
            return "Timeout must be >= 0";
        }

        if (SuccessBeforePassing < 0)
        {
            return "SuccessBeforePassing must be >= 0";
        }

        if (FailuresBeforeCritical < 0)
        {
            return "FailuresBeforeCritical must be >= 0";
        }

        if (DeregisterCriticalServiceAfter < TimeSpan.Zero)
        {
            return "DeregisterCriticalServiceAfter must be >= 0";
        }

        if (HTTP.Length > 0 && string.IsNullOrWhiteSpace(Method))
        {
            return "Method must not be empty for HTTP checks";
        }

        return null;
    }
}
