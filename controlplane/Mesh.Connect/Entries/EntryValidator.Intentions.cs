namespace Mesh.Connect.Entries;

// service-intentions on their own, with the messages of Consul's agent/structs/config_entry_intentions.go. Whether
// L7 permissions fit the destination's protocol is a graph question, answered by EntryGraph.
public static partial class EntryValidator
{
    private static void ValidateIntentions(ServiceIntentionsEntry e, bool legacyFields)
    {
        RequireName(e);
        if (Wildcard(e.Name) is { } bad) throw Fail("Name: " + bad);
        var destinationIsWild = e.Name == "*";
        ValidateCommon(e);
        var sources = e.Sources ?? [];
        if (sources.Count == 0) throw Fail("At least one source is required");
        var seen = new HashSet<(string Name, string Peer)>();
        for (var i = 0; i < sources.Count; i++)
        {
            var src = sources[i];
            var at = $"Sources[{i}]";
            if (src.Name.Length == 0) throw Fail($"{at}.Name is required");
            if (Wildcard(src.Name) is { } wild) throw Fail($"{at}.Name: {wild}");
            if (src.Peer.Contains('*', StringComparison.Ordinal)) throw Fail($"{at}.Peer: cannot use wildcard '*' in peer");
            Tenancy(src.Namespace, $"{at}.Namespace");
            Tenancy(src.Partition, $"{at}.Partition");
            if (src.Peer.Length > 0 && src.Partition.Length > 0) throw Fail($"{at}.Peer: cannot set Peer and Partition at the same time.");
            if (src.Description.Length > MetaValueMaxLength) throw Fail($"{at}.Description exceeds maximum length {MetaValueMaxLength}");
            if (legacyFields && src.LegacyID.Length > 0) ValidateLegacySource(src, at);
            else
            {
                if (src.LegacyMeta is { Count: > 0 }) throw Fail($"{at}.LegacyMeta must be omitted");
                if (src.LegacyCreateTime is not null) throw Fail($"{at}.LegacyCreateTime must be omitted");
                if (src.LegacyUpdateTime is not null) throw Fail($"{at}.LegacyUpdateTime must be omitted");
                if (src.LegacyID.Length > 0) throw Fail($"{at}.LegacyID must be omitted");
            }
            var permissions = src.Permissions ?? [];
            if (permissions.Count == 0 && src.Action is not ("allow" or "deny")) throw Fail($"{at}.Action must be set to 'allow' or 'deny'");
            if (permissions.Count > 0 && src.Action.Length > 0) throw Fail($"{at}.Action must be omitted if Permissions are specified");
            if (destinationIsWild && permissions.Count > 0) throw Fail($"{at}.Permissions cannot be specified on intentions with wildcarded destinations");
            if (src.Type != "consul") throw Fail($"{at}.Type must be set to 'consul'");
            for (var j = 0; j < permissions.Count; j++) ValidatePermission(permissions[j], $"{at}.Permissions[{j}]");
            if (!seen.Add((src.Name, src.Peer)))
                throw Fail(src.Peer.Length > 0 ? $"{at} defines peer({Quote(src.Peer)}) {Quote(src.Name)} more than once" : $"{at} defines {Quote(src.Name)} more than once");
        }
    }

    /// <summary>
    /// A source the legacy API made (it has an ID): its times are set and its metadata within the limits of an
    /// entry's, with the messages of Consul's legacy validation. Permissions never come through the legacy API.
    /// </summary>
    private static void ValidateLegacySource(IntentionSource src, string at)
    {
        if (src.LegacyCreateTime is null) throw Fail($"{at}.LegacyCreateTime must be set");
        if (src.LegacyUpdateTime is null) throw Fail($"{at}.LegacyUpdateTime must be set");
        if (src.Permissions is { Count: > 0 }) throw Fail($"{at}.Permissions cannot be set on an intention made by the legacy API");
        if (src.LegacyMeta is not { } meta) return;
        if (meta.Count > MetaMaxKeyPairs) throw Fail($"{at}.Meta exceeds maximum element count {MetaMaxKeyPairs}");
        foreach (var (key, value) in meta.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (key.Length > MetaKeyMaxLength) throw Fail($"{at}.Meta key {Quote(key)} exceeds maximum length {MetaKeyMaxLength}");
            if (value.Length > MetaValueMaxLength) throw Fail($"{at}.Meta value for key {Quote(key)} exceeds maximum length {MetaValueMaxLength}");
        }
    }

    private static void ValidatePermission(IntentionPermission perm, string at)
    {
        if (perm.Action is not ("allow" or "deny")) throw Fail($"{at}.Action must be set to 'allow' or 'deny'");
        if (perm.HTTP is not { } http) throw Fail($"{at}.HTTP is required");
        var pathParts = 0;
        if (http.PathExact.Length > 0)
        {
            pathParts++;
            if (!http.PathExact.StartsWith('/')) throw Fail($"{at}.HTTP.PathExact doesn't start with '/': {Quote(http.PathExact)}");
        }
        if (http.PathPrefix.Length > 0)
        {
            pathParts++;
            if (!http.PathPrefix.StartsWith('/')) throw Fail($"{at}.HTTP.PathPrefix doesn't start with '/': {Quote(http.PathPrefix)}");
        }
        if (http.PathRegex.Length > 0) pathParts++;
        if (pathParts > 1) throw Fail($"{at}.HTTP should only contain at most one of PathExact, PathPrefix, or PathRegex");
        var parts = pathParts;
        var headers = http.Header ?? [];
        for (var k = 0; k < headers.Count; k++)
        {
            if (headers[k].Name.Length == 0) throw Fail($"{at}.HTTP.Header[{k}] missing required Name field");
            if (HeaderParts(headers[k]) != 1) throw Fail($"{at}.HTTP.Header[{k}] should only contain one of Present, Exact, Prefix, Suffix, or Regex");
            parts++;
        }
        if (http.Methods is { Count: > 0 } methods)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            foreach (var m in methods)
            {
                if (!HttpMethods.Contains(m)) throw Fail($"{at}.HTTP.Methods contains an invalid method {Quote(m)}");
                if (!found.Add(m)) throw Fail($"{at}.HTTP.Methods contains {Quote(m)} more than once");
            }
            parts++;
        }
        // A permission that matches on nothing would match every request: an L4 rule written the long way.
        if (parts == 0) throw Fail($"{at}.HTTP should not be empty");
    }

    /// <summary>Why a name misuses the wildcard, or null: <c>*</c> stands only for the whole name.</summary>
    private static string? Wildcard(string name) =>
        name != "*" && name.Contains('*', StringComparison.Ordinal) ? "wildcard character '*' cannot be used with partial values" : null;
}
