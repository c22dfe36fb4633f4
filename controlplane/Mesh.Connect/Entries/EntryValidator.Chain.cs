using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.State.Filtering;

namespace Mesh.Connect.Entries;

// The discovery-chain kinds on their own: service-resolver, service-splitter, service-router. Messages follow
// Consul's agent/structs/config_entry_discoverychain.go; maps are walked in key order so the first problem reported is
// the same on every server.
public static partial class EntryValidator
{
    private static readonly HashSet<string> LbPolicies = new(StringComparer.Ordinal) { "", "random", "round_robin", "least_request", "ring_hash", "maglev" };

    private static readonly HashSet<string> HashFields = new(StringComparer.Ordinal) { "header", "cookie", "query_parameter" };

    private static readonly HashSet<string> HttpMethods = new(StringComparer.Ordinal) { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE" };

    private static readonly HashSet<string> RetryConditions = new(StringComparer.Ordinal)
    {
        "5xx", "gateway-error", "reset", "connect-failure", "envoy-ratelimited", "retriable-4xx", "refused-stream", "cancelled",
        "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
    };

    /// <summary>Subset names end up in SNI names, so they must be DNS labels.</summary>
    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex SubsetName();

    private static void ValidateResolver(ServiceResolverEntry e)
    {
        RequireName(e);
        ValidateCommon(e);
        var subsets = e.Subsets ?? [];
        foreach (var (name, subset) in subsets.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (name.Length == 0) throw Fail("Subset defined with empty name");
            if (name.Length > 63) throw Fail($"Subset {Quote(name)} is invalid: must be non-empty and 63 characters or fewer");
            if (!SubsetName().IsMatch(name))
                throw Fail($"Subset {Quote(name)} is invalid: must be 63 characters or fewer, begin or end with lower case alphanumeric characters, and contain lower case alphanumeric characters or '-' in between");
            if (subset.Filter.Length > 0)
            {
                try
                {
                    FilterExpression.Parse(subset.Filter);
                }
                catch (FilterException ex)
                {
                    throw Fail($"Filter for subset {Quote(name)} is not a valid expression: {ex.Message}");
                }
            }
        }
        bool IsSubset(string s) => subsets.ContainsKey(s);

        if (e.DefaultSubset.Length > 0 && !IsSubset(e.DefaultSubset)) throw Fail($"DefaultSubset {Quote(e.DefaultSubset)} is not a valid subset");

        if (e.Redirect is { } r)
        {
            if (e.Failover is { Count: > 0 }) throw Fail("Redirect and Failover cannot both be set");
            if (r.Service.Length == 0 && r.ServiceSubset.Length == 0 && r.Namespace.Length == 0 && r.Partition.Length == 0 && r.Datacenter.Length == 0 && r.Peer.Length == 0)
                throw Fail("Redirect is empty");
            Tenancy(r.Namespace, "Redirect.Namespace");
            Tenancy(r.Partition, "Redirect.Partition");
            if (r.Peer.Length > 0 && r.ServiceSubset.Length > 0) throw Fail("Redirect.Peer cannot be set with Redirect.ServiceSubset");
            if (r.Peer.Length > 0 && r.Partition.Length > 0) throw Fail("Redirect.Partition cannot be set with Redirect.Peer");
            if (r.Peer.Length > 0 && r.Datacenter.Length > 0) throw Fail("Redirect.Peer cannot be set with Redirect.Datacenter");
            if (r.Service.Length == 0)
            {
                if (r.ServiceSubset.Length > 0) throw Fail("Redirect.ServiceSubset defined without Redirect.Service");
                if (r.Namespace.Length > 0) throw Fail("Redirect.Namespace defined without Redirect.Service");
                if (r.Partition.Length > 0) throw Fail("Redirect.Partition defined without Redirect.Service");
                if (r.Peer.Length > 0) throw Fail("Redirect.Peer defined without Redirect.Service");
            }
            else if (r.ServiceSubset.Length > 0 && r.Service == e.Name && !IsSubset(r.ServiceSubset))
            {
                throw Fail($"Redirect.ServiceSubset {Quote(r.ServiceSubset)} is not a valid subset of {Quote(e.Name)}");
            }
            // Consul lets a redirect name the resolver's own service with nothing else and then ignores it; a redirect
            // that goes nowhere is a mistake worth reporting.
            if (r.Service == e.Name && r.ServiceSubset.Length == 0 && r.Datacenter.Length == 0 && r.Peer.Length == 0)
                throw Fail($"Redirect.Service {Quote(e.Name)} is the resolver's own service: a redirect must name another service, a subset or a datacenter");
        }

        foreach (var (subset, f) in (e.Failover ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var prefix = $"Bad Failover[{Quote(subset)}]: ";
            // Consul's message, typo included, so tools matching on it keep working.
            if (subset != "*" && !IsSubset(subset)) throw Fail(prefix + "not a valid subset subset");
            if (f.Service.Length == 0 && f.ServiceSubset.Length == 0 && f.Namespace.Length == 0 && (f.Datacenters?.Count ?? 0) == 0 && (f.Targets?.Count ?? 0) == 0)
                throw Fail(prefix + "one of Service, ServiceSubset, Namespace, Targets, or Datacenters is required");
            Tenancy(f.Namespace, $"Failover[{Quote(subset)}].Namespace");
            if (f.ServiceSubset.Length > 0 && (f.Service.Length == 0 || f.Service == e.Name) && !IsSubset(f.ServiceSubset))
                throw Fail($"{prefix}ServiceSubset {Quote(f.ServiceSubset)} is not a valid subset of {Quote(f.Service)}");
            if ((f.Datacenters?.Count ?? 0) > 0 && (f.Targets?.Count ?? 0) > 0) throw Fail(prefix + "Targets cannot be set with Datacenters");
            if (f.ServiceSubset.Length > 0 && (f.Targets?.Count ?? 0) > 0) throw Fail(prefix + "Targets cannot be set with ServiceSubset");
            if (f.Service.Length > 0 && (f.Targets?.Count ?? 0) > 0) throw Fail(prefix + "Targets cannot be set with Service");
            for (var i = 0; i < (f.Targets?.Count ?? 0); i++)
            {
                var t = f.Targets![i];
                var tp = $"Bad Failover[{Quote(subset)}].Targets[{i}]: ";
                Tenancy(t.Namespace, $"Failover[{Quote(subset)}].Targets[{i}].Namespace");
                Tenancy(t.Partition, $"Failover[{Quote(subset)}].Targets[{i}].Partition");
                if (t.Peer.Length > 0 && t.ServiceSubset.Length > 0) throw Fail(tp + "Peer cannot be set with ServiceSubset");
                if (t.Peer.Length > 0 && t.Partition.Length > 0) throw Fail(tp + "Partition cannot be set with Peer");
                if (t.Peer.Length > 0 && t.Datacenter.Length > 0) throw Fail(tp + "Peer cannot be set with Datacenter");
                if (t.Partition.Length > 0 && t.Datacenter.Length > 0) throw Fail(tp + "Partition cannot be set with Datacenter");
                if (t.ServiceSubset.Length > 0 && (t.Service.Length == 0 || t.Service == e.Name) && !IsSubset(t.ServiceSubset))
                    throw Fail($"{tp}ServiceSubset {Quote(t.ServiceSubset)} is not a valid subset of {Quote(e.Name)}");
            }
            if (f.Datacenters?.Any(dc => dc.Length == 0) == true) throw Fail($"Bad Failover[{Quote(subset)}].Datacenters: found empty datacenter");
        }

        if (e.ConnectTimeout < TimeSpan.Zero) throw Fail($"Bad ConnectTimeout '{GoDurationText(e.ConnectTimeout)}', must be >= 0");
        if (e.RequestTimeout < TimeSpan.Zero) throw Fail($"Bad RequestTimeout '{GoDurationText(e.RequestTimeout)}', must be >= 0");
        if (e.LoadBalancer is { } lb) ValidateLoadBalancer(lb);
    }

    private static void ValidateLoadBalancer(LoadBalancerConfig lb)
    {
        if (!LbPolicies.Contains(lb.Policy)) throw Fail($"Bad LoadBalancer policy: {Quote(lb.Policy)} is not supported");
        if (lb.Policy != "ring_hash" && Present(lb.RingHashConfig))
            throw Fail($"Bad LoadBalancer configuration. RingHashConfig specified for incompatible load balancing policy {Quote(lb.Policy)}");
        if (lb.Policy != "least_request" && Present(lb.LeastRequestConfig))
            throw Fail($"Bad LoadBalancer configuration. LeastRequestConfig specified for incompatible load balancing policy {Quote(lb.Policy)}");
        var policies = lb.HashPolicies ?? [];
        if (policies.Count > 0 && lb.Policy is not ("ring_hash" or "maglev"))
            throw Fail($"Bad LoadBalancer configuration: HashPolicies specified for non-hash-based Policy: {Quote(lb.Policy)}");
        for (var i = 0; i < policies.Count; i++)
        {
            var prefix = $"Bad LoadBalancer HashPolicy[{i}]: ";
            var hp = policies[i];
            if (hp.ValueKind != JsonValueKind.Object) throw Fail(prefix + "must be an object");
            var field = Field(hp, "Field") is { ValueKind: JsonValueKind.String } f ? f.GetString()! : "";
            var fieldValue = Field(hp, "FieldValue") is { ValueKind: JsonValueKind.String } v ? v.GetString()! : "";
            var sourceIp = Field(hp, "SourceIP") is { ValueKind: JsonValueKind.True };
            if (field.Length > 0 && !HashFields.Contains(field)) throw Fail($"{prefix}{Quote(field)} is not a supported field");
            if (sourceIp && field.Length > 0) throw Fail($"{prefix}A single hash policy cannot hash both a source address and a {Quote(field)}");
            if (sourceIp && fieldValue.Length > 0) throw Fail(prefix + "A FieldValue cannot be specified when hashing SourceIP");
            if (field.Length > 0 && fieldValue.Length == 0) throw Fail($"{prefix}Field {Quote(field)} was specified without a FieldValue");
            if (fieldValue.Length > 0 && field.Length == 0) throw Fail(prefix + "FieldValue requires a Field to apply to");
            if (Field(hp, "CookieConfig") is { ValueKind: JsonValueKind.Object } cookie)
            {
                if (field != "cookie") throw Fail($"{prefix}cookie_config provided for {Quote(field)}");
                var session = Field(cookie, "Session") is { ValueKind: JsonValueKind.True };
                var ttl = Field(cookie, "TTL");
                if (session && ttl is { ValueKind: JsonValueKind.String or JsonValueKind.Number } && !IsZeroDuration(ttl.Value))
                    throw Fail(prefix + "a session cookie cannot have an associated TTL");
            }
        }

        static bool Present(JsonElement? e) => e is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };

        static bool IsZeroDuration(JsonElement e) => e.ValueKind == JsonValueKind.Number
            ? e.TryGetDouble(out var n) && n == 0
            : Mesh.State.Text.GoDuration.TryParse(e.GetString(), out var d) && d == TimeSpan.Zero;
    }

    /// <summary>
    /// A field of an opaque object kept as written: the codec took underscores out of its keys (<c>field_value</c>
    /// arrives as <c>fieldvalue</c>), so the name is matched without them and regardless of case.
    /// </summary>
    private static JsonElement? Field(JsonElement obj, string name)
    {
        foreach (var p in obj.EnumerateObject())
            if (string.Equals(p.Name.Replace("_", "", StringComparison.Ordinal), name, StringComparison.OrdinalIgnoreCase)) return p.Value;
        return null;
    }

    private static void ValidateSplitter(ServiceSplitterEntry e)
    {
        RequireName(e);
        var splits = e.Splits ?? [];
        if (splits.Count == 0) throw Fail("no splits configured");
        ValidateCommon(e);
        var seen = new HashSet<(string Service, string Subset, string Namespace, string Partition)>();
        for (var i = 0; i < splits.Count; i++)
        {
            var split = splits[i];
            Tenancy(split.Namespace, $"Splits[{i}].Namespace");
            Tenancy(split.Partition, $"Splits[{i}].Partition");
            // Consul only checks the sum; a share outside 0-100 can only reach it by cancelling another out.
            if (split.Weight is < 0 or > 100)
                throw Fail($"Splits[{i}].Weight must be between 0 and 100, not {split.Weight.ToString("G6", CultureInfo.InvariantCulture)}");
            // Consul fills an empty split namespace with the entry's ("default") before comparing, and reports it so.
            var key = (split.Service.Length == 0 ? e.Name : split.Service, split.ServiceSubset, split.Namespace.Length == 0 ? "default" : split.Namespace, split.Partition);
            if (!seen.Add(key))
                throw Fail($"split destination occurs more than once: service={Quote(key.Item1)}, subset={Quote(key.ServiceSubset)}, namespace={Quote(key.Item3)}, partition={Quote(key.Partition)}");
        }
        var sum = splits.Sum(s => ScaleWeight(s.Weight));
        if (sum != 100 * 100) throw Fail($"the sum of all split weights must be 100, not {Weight(sum / 100.0)}");

        static string Weight(double w) => w.ToString("F6", CultureInfo.InvariantCulture);
    }

    private static void ValidateRouter(ServiceRouterEntry e)
    {
        RequireName(e);
        ValidateCommon(e);
        var routes = e.Routes ?? [];
        for (var i = 0; i < routes.Count; i++)
        {
            var route = routes[i];
            var eligibleForPrefixRewrite = false;
            if (route.Match?.HTTP is { } http)
            {
                var pathParts = 0;
                if (http.PathExact.Length > 0)
                {
                    eligibleForPrefixRewrite = true;
                    pathParts++;
                    if (!http.PathExact.StartsWith('/')) throw Fail($"Route[{i}] PathExact doesn't start with '/': {Quote(http.PathExact)}");
                }
                if (http.PathPrefix.Length > 0)
                {
                    eligibleForPrefixRewrite = true;
                    pathParts++;
                    if (!http.PathPrefix.StartsWith('/')) throw Fail($"Route[{i}] PathPrefix doesn't start with '/': {Quote(http.PathPrefix)}");
                }
                if (http.PathRegex.Length > 0) pathParts++;
                if (pathParts > 1) throw Fail($"Route[{i}] should only contain at most one of PathExact, PathPrefix, or PathRegex");
                var headers = http.Header ?? [];
                for (var j = 0; j < headers.Count; j++)
                {
                    var h = headers[j];
                    if (h.Name.Length == 0) throw Fail($"Route[{i}] Header[{j}] missing required Name field");
                    if (HeaderParts(h) != 1) throw Fail($"Route[{i}] Header[{j}] should only contain one of Present, Exact, Prefix, Suffix, or Regex");
                }
                var query = http.QueryParam ?? [];
                for (var j = 0; j < query.Count; j++)
                {
                    var q = query[j];
                    if (q.Name.Length == 0) throw Fail($"Route[{i}] QueryParam[{j}] missing required Name field");
                    var parts = (q.Present ? 1 : 0) + (q.Exact.Length > 0 ? 1 : 0) + (q.Regex.Length > 0 ? 1 : 0);
                    if (parts != 1) throw Fail($"Route[{i}] QueryParam[{j}] should only contain one of Present, Exact, or Regex");
                }
                var found = new HashSet<string>(StringComparer.Ordinal);
                foreach (var m in http.Methods ?? [])
                {
                    if (!HttpMethods.Contains(m)) throw Fail($"Route[{i}] Methods contains an invalid method {Quote(m)}");
                    if (!found.Add(m)) throw Fail($"Route[{i}] Methods contains {Quote(m)} more than once");
                }
            }
            if (route.Destination is { } d)
            {
                Tenancy(d.Namespace, $"Route[{i}] Destination.Namespace");
                Tenancy(d.Partition, $"Route[{i}] Destination.Partition");
                if (d.PrefixRewrite.Length > 0 && !eligibleForPrefixRewrite)
                    throw Fail($"Route[{i}] cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix");
                foreach (var r in d.RetryOn ?? [])
                    if (!RetryConditions.Contains(r)) throw Fail($"Route[{i}] contains an invalid retry condition: {Quote(r)}");
                if (d.NumRetries < 0) throw Fail($"Route[{i}] NumRetries must be >= 0");
                if (d.RequestTimeout < TimeSpan.Zero) throw Fail($"Route[{i}] Bad RequestTimeout '{GoDurationText(d.RequestTimeout)}', must be >= 0");
                if (d.IdleTimeout < TimeSpan.Zero) throw Fail($"Route[{i}] Bad IdleTimeout '{GoDurationText(d.IdleTimeout)}', must be >= 0");
            }
        }
    }

    private static int HeaderParts(HeaderMatch h) =>
        (h.Present ? 1 : 0) + (h.Exact.Length > 0 ? 1 : 0) + (h.Regex.Length > 0 ? 1 : 0) + (h.Prefix.Length > 0 ? 1 : 0) + (h.Suffix.Length > 0 ? 1 : 0);
}
