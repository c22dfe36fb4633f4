using System.Text;

namespace Mesh.Agent.Tests.Robustness;

/// <summary>One request of the corpus, exactly as it goes on the wire.</summary>
/// <param name="Number">Position in the corpus, to find it again from a failure message.</param>
/// <param name="Category">Which generator made it.</param>
/// <param name="Method">HTTP method token.</param>
/// <param name="Target">Request target bytes (path and query), sent verbatim.</param>
/// <param name="Body">Body, or null for none (no Content-Length).</param>
/// <param name="Headers">Extra header lines.</param>
public sealed record FuzzRequest(int Number, string Category, string Method, byte[] Target, byte[]? Body, string[] Headers)
{
    public string TargetText => Escape(Target, 300);

    public string Describe()
    {
        var body = Body is null ? "no body" : $"{Body.Length}-byte body {Escape(Body, 120)}";
        return $"#{Number} [{Category}] {Method} {TargetText} ({body})";
    }

    internal static string Escape(byte[] bytes, int limit)
    {
        var sb = new StringBuilder();
        foreach (var b in bytes.Take(limit))
        {
            sb.Append(b is >= 0x20 and < 0x7f ? ((char)b).ToString() : $"\\x{b:x2}");
        }

        if (bytes.Length > limit)
        {
            sb.Append($"...({bytes.Length} bytes)");
        }

        return sb.ToString();
    }
}

/// <summary>
/// Deterministic generator of malformed and random requests for the HTTP API: odd methods, random and traversal-like
/// paths under /v1/, bad query values, broken JSON, wrong JSON types, oversized transactions and bodies, bad base64,
/// unknown sessions, invalid UTF-8 and percent-encoding in keys. The same seed always gives the same corpus.
/// Nothing here asks an agent to leave or to stream (/v1/agent/leave, /v1/agent/monitor), and a numeric
/// <c>index</c> always travels with a short <c>wait</c>, so no request can block for minutes.
/// </summary>
public static class MalformedRequestCorpus
{
    /// <summary>Just over Consul's 512 KiB value limit.</summary>
    public const int OverValueLimit = 512 * 1024 + 1;

    private static readonly string[] Methods =
        ["GET", "GET", "GET", "PUT", "PUT", "PUT", "DELETE", "DELETE", "POST", "HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "FOO", "get", "M-SEARCH", "BREW"];

    private static readonly string[] Paths =
    [
        "/v1/kv/{key}", "/v1/kv/{key}", "/v1/kv/{key}", "/v1/kv/", "/v1/kv", "/v1/session/create", "/v1/session/destroy/{id}",
        "/v1/session/info/{id}", "/v1/session/node/{node}", "/v1/session/list", "/v1/session/renew/{id}", "/v1/txn",
        "/v1/event/fire/{name}", "/v1/event/list", "/v1/status/leader", "/v1/status/peers", "/v1/agent/self",
        "/v1/agent/members", "/v1/agent/metrics", "/v1/{rand}", "/v1/{rand}/{rand}", "/v1/kv/../../../etc/passwd",
        "/v1/kv/..%2F..%2F..%2Fetc%2Fpasswd", "/v1/%2e%2e/%2e%2e/etc/passwd", "/v1/../v1/kv/x", "/v1//kv//x",
        "/v1/kv/./x", "/v1/status/../agent/self", "/v1/session/info/", "/v1/session/destroy/", "/v1/event/fire/",
        "/v1/agent/", "/v1/catalog/nodes", "/v1/kv/x/..", "/v1/kv/%2e%2e%2f%2e%2e%2f", "/v1/", "/v1", "/", "/v2/kv/x",
        "/v1/status/leader/extra", "/v1/txn/x", "/v1/session/create/x", "/v1/event/list/x", "/V1/KV/x",
        "/v1/catalog/register", "/v1/catalog/deregister", "/v1/catalog/services", "/v1/catalog/service/{name}",
        "/v1/catalog/connect/{name}", "/v1/catalog/node/{node}", "/v1/catalog/node-services/{node}", "/v1/health/node/{node}",
        "/v1/health/checks/{name}", "/v1/health/state/{rand}", "/v1/health/service/{name}", "/v1/health/connect/{name}",
        "/v1/agent/services", "/v1/agent/service/{id}", "/v1/agent/service/register", "/v1/agent/service/deregister/{id}",
        "/v1/agent/service/maintenance/{id}", "/v1/agent/maintenance", "/v1/agent/checks", "/v1/agent/check/register",
        "/v1/agent/check/deregister/{id}", "/v1/agent/check/pass/{id}", "/v1/agent/check/update/{id}",
        "/v1/agent/health/service/id/{id}", "/v1/agent/health/service/name/{name}", "/v1/agent/reload",
        "/v1/query", "/v1/query/", "/v1/query/{id}", "/v1/query/{name}/execute", "/v1/query/{id}/execute", "/v1/query/{name}/explain",
        "/v1/query/execute", "/v1/query/{name}/{rand}/execute",
        "/v1/connect/ca/roots", "/v1/connect/ca/configuration", "/v1/connect/ca/sign", "/v1/agent/connect/ca/roots",
        "/v1/agent/connect/ca/leaf/{name}", "/v1/agent/connect/ca/leaf/", "/v1/agent/connect/authorize",
        "/v1/config", "/v1/config/", "/v1/config/{kind}", "/v1/config/{kind}/{name}", "/v1/config/{kind}/", "/v1/config/{rand}/{name}",
        "/v1/config/{kind}/{name}/{rand}",
        "/v1/connect/intentions", "/v1/connect/intentions/", "/v1/connect/intentions/exact", "/v1/connect/intentions/match",
        "/v1/connect/intentions/check", "/v1/connect/intentions/{id}", "/v1/connect/intentions/{id}/{rand}",
    ];

    private static readonly string[] Kinds =
    [
        "service-defaults", "proxy-defaults", "service-resolver", "service-splitter", "service-router", "service-intentions",
        "mesh", "ingress-gateway", "Service-Defaults", "", "%2F", "service-defaults%00",
    ];

    // Config entries with wrong types, broken rules and graphs that must be refused (loops, L7 on tcp, missing
    // subsets). Names come from a small set (fuzz-a, fuzz-b) often enough that entries meet each other.
    private static readonly string[] ConfigBodies =
    [
        "{\"Kind\":\"{kind}\",\"Name\":{rand-json}}",
        "{\"Kind\":{rand-json},\"Name\":\"{entry}\"}",
        "{\"Kind\":\"service-defaults\",\"Name\":\"{entry}\",\"Protocol\":{rand-json},\"Meta\":{rand-json}}",
        "{\"Kind\":\"service-defaults\",\"Name\":\"{entry}\",\"Protocol\":\"{protocol}\"}",
        "{\"kind\":\"service-defaults\",\"name\":\"{entry}\",\"protocol\":\"http\",\"mesh_gateway\":{rand-json},\"expose\":{rand-json}}",
        "{\"Kind\":\"proxy-defaults\",\"Name\":\"global\",\"Config\":{\"protocol\":{rand-json}}}",
        "{\"Kind\":\"proxy-defaults\",\"Name\":\"global\",\"Config\":{\"protocol\":\"{protocol}\"}}",
        "{\"Kind\":\"proxy-defaults\",\"Config\":{rand-json},\"Mode\":{rand-json}}",
        "{\"Kind\":\"service-resolver\",\"Name\":\"{entry}\",\"DefaultSubset\":{rand-json},\"Subsets\":{\"{rand}\":{\"Filter\":\"{filter}\"}},\"ConnectTimeout\":{rand-json}}",
        "{\"Kind\":\"service-resolver\",\"Name\":\"{entry}\",\"Subsets\":{rand-json},\"Failover\":{rand-json},\"LoadBalancer\":{rand-json}}",
        "{\"Kind\":\"service-resolver\",\"Name\":\"{entry}\",\"Redirect\":{\"Service\":\"{entry}\",\"ServiceSubset\":{rand-json},\"Datacenter\":{rand-json}}}",
        "{\"Kind\":\"service-resolver\",\"Name\":\"{entry}\",\"Subsets\":{\"v1\":{}},\"Failover\":{\"{rand}\":{\"Targets\":{rand-json},\"Datacenters\":{rand-json}}}}",
        "{\"Kind\":\"service-resolver\",\"Name\":\"{entry}\",\"LoadBalancer\":{\"Policy\":\"maglev\",\"HashPolicies\":[{rand-json},{\"Field\":{rand-json},\"CookieConfig\":{rand-json}}]}}",
        "{\"Kind\":\"service-splitter\",\"Name\":\"{entry}\",\"Splits\":[{\"Weight\":{rand-json},\"Service\":{rand-json}}]}",
        "{\"Kind\":\"service-splitter\",\"Name\":\"{entry}\",\"Splits\":[{\"Weight\":50,\"ServiceSubset\":\"v1\"},{\"Weight\":50,\"Service\":\"{entry}\"}]}",
        "{\"Kind\":\"service-splitter\",\"Name\":\"{entry}\",\"Splits\":{rand-json}}",
        "{\"Kind\":\"service-router\",\"Name\":\"{entry}\",\"Routes\":[{\"Match\":{\"HTTP\":{\"PathPrefix\":{rand-json},\"Header\":{rand-json},\"Methods\":{rand-json}}},\"Destination\":{rand-json}}]}",
        "{\"Kind\":\"service-router\",\"Name\":\"{entry}\",\"Routes\":[{\"Match\":{\"HTTP\":{\"PathPrefix\":\"/a\"}},\"Destination\":{\"Service\":\"{entry}\",\"ServiceSubset\":\"v1\",\"RequestTimeout\":{rand-json}}}]}",
        "{\"Kind\":\"service-intentions\",\"Name\":{rand-json},\"Sources\":{rand-json}}",
        "{\"Kind\":\"service-intentions\",\"Name\":\"{entry}\",\"Sources\":[{\"Name\":\"{entry}\",\"Action\":{rand-json},\"Permissions\":[{\"Action\":\"deny\",\"HTTP\":{rand-json}}]}]}",
        "{\"Kind\":\"service-intentions\",\"Name\":\"{entry}\",\"Sources\":[{\"Name\":\"*\",\"Action\":\"deny\",\"LegacyCreateTime\":{rand-json},\"Precedence\":{rand-json}}]}",
    ];

    // Intention bodies (exact upserts and legacy creates and updates) with wrong types, bad names and L7 permissions
    // on services that are not HTTP.
    private static readonly string[] IntentionBodies =
    [
        "{\"Action\":{rand-json}}",
        "{\"Action\":\"allow\",\"SourceType\":{rand-json},\"Description\":{rand-json},\"Meta\":{rand-json}}",
        "{\"Action\":\"deny\",\"Meta\":{\"{rand}\":{rand-json}},\"Precedence\":{rand-json},\"CreatedAt\":{rand-json}}",
        "{\"Permissions\":{rand-json}}",
        "{\"Permissions\":[{\"Action\":{rand-json},\"HTTP\":{rand-json}}]}",
        "{\"Permissions\":[{\"Action\":\"allow\",\"HTTP\":{\"PathRegex\":{rand-json},\"Header\":{rand-json},\"Methods\":{rand-json}}}]}",
        "{\"SourceName\":{rand-json},\"DestinationName\":\"{entry}\",\"Action\":\"allow\"}",
        "{\"SourceName\":\"{intention-name}\",\"DestinationName\":\"{intention-name}\",\"Action\":{rand-json},\"SourceNS\":{rand-json}}",
        "{\"ID\":{rand-json},\"SourceName\":\"{entry}\",\"DestinationName\":\"{entry}\",\"Action\":\"deny\",\"SourcePeer\":{rand-json}}",
        "{\"SourceName\":\"{entry}\",\"DestinationName\":\"{entry}\",\"Permissions\":[{\"Action\":\"allow\",\"HTTP\":{\"PathPrefix\":\"/\"}}]}",
    ];

    private static readonly string[] IntentionNames = ["fuzz-a", "fuzz-b", "*", "web*", "default/fuzz-a", "x/fuzz-a", "a/b/c/d", "peer:p/fuzz-a", "", "%2F", "a%00"];

    private static readonly string[] ConfigQueries = ["", "", "?cas=0", "?cas={index}", "?cas=abc", "?cas=", "?cas=-1", "?pretty", "?index=1&wait=10ms", "?dc=nowhere"];

    private static readonly string[] EntryNames = ["fuzz-a", "fuzz-b", "fuzz-c", "global", "*", "web-*", "", "%2F", "a%00"];

    private static readonly string[] Protocols = ["tcp", "http", "HTTP", "grpc", "http2", "udp", ""];

    // Registration bodies with wrong types, missing fields and bad values. Every check target is on 127.0.0.1:
    // a check that happens to be valid is really probed, and nothing may leave this machine.
    private static readonly (string Path, string Body)[] Registrations =
    [
        ("/v1/catalog/register", "{\"Node\":{rand-json},\"Address\":\"127.0.0.1\"}"),
        ("/v1/catalog/register", "{\"Node\":\"{rand}\",\"Address\":\"127.0.0.1\",\"Service\":{\"Service\":{rand-json},\"Port\":{rand-json}}}"),
        ("/v1/catalog/register", "{\"Node\":\"{rand}\",\"Address\":\"127.0.0.1\",\"Checks\":[{\"Name\":\"c\",\"Status\":{rand-json},\"ServiceID\":{rand-json}}]}"),
        ("/v1/catalog/register", "{\"Node\":\"{rand}\",\"Address\":\"127.0.0.1\",\"NodeMeta\":{rand-json},\"TaggedAddresses\":{rand-json}}"),
        ("/v1/catalog/deregister", "{\"Node\":{rand-json},\"ServiceID\":{rand-json}}"),
        ("/v1/agent/service/register", "{\"Name\":{rand-json},\"Port\":{rand-json},\"Tags\":{rand-json}}"),
        ("/v1/agent/service/register", "{\"Name\":\"{rand}\",\"Kind\":{rand-json},\"Proxy\":{rand-json},\"Weights\":{\"Passing\":{rand-json}}}"),
        ("/v1/agent/service/register", "{\"Name\":\"{rand}\",\"Check\":{\"HTTP\":\"http://127.0.0.1:1/{rand}\",\"Interval\":{rand-json},\"Timeout\":{rand-json}}}"),
        ("/v1/agent/service/register", "{\"Name\":\"{rand}\",\"Checks\":[{\"TCP\":\"127.0.0.1:1\",\"TTL\":\"10s\",\"Interval\":\"10s\"},{\"Args\":[\"/bin/true\"],\"Interval\":\"1s\"}]}"),
        ("/v1/agent/service/register", "{\"Name\":\"{rand}\",\"Connect\":{\"SidecarService\":{rand-json}}}"),
        ("/v1/agent/check/register", "{\"Name\":{rand-json},\"TTL\":{rand-json},\"ServiceID\":{rand-json}}"),
        ("/v1/agent/check/register", "{\"Name\":\"{rand}\",\"GRPC\":\"127.0.0.1:1\",\"Interval\":\"-5s\",\"SuccessBeforePassing\":{rand-json}}"),
        ("/v1/agent/check/register", "{\"Name\":\"{rand}\",\"AliasNode\":{rand-json},\"AliasService\":{rand-json},\"TTL\":\"1s\"}"),
        ("/v1/agent/check/update/{id}", "{\"Status\":{rand-json},\"Output\":{rand-json}}"),
        ("/v1/health/service/{name}?filter={filter}", ""),
        ("/v1/catalog/service/{name}?filter={filter}&tag={rand}", ""),
        ("/v1/agent/services?filter={filter}", ""),
    ];

    // Prepared-query definitions with wrong types, bad templates and bad values (POST /v1/query, PUT /v1/query/<id>).
    private static readonly string[] QueryBodies =
    [
        "{\"Name\":{rand-json},\"Service\":{\"Service\":{rand-json}}}",
        "{\"Name\":\"{rand}\",\"Service\":{\"Service\":\"web\",\"Tags\":{rand-json},\"OnlyPassing\":{rand-json},\"IgnoreCheckIDs\":{rand-json}}}",
        "{\"Name\":\"{rand}\",\"Service\":{\"Service\":\"web\",\"Failover\":{\"NearestN\":{rand-json},\"Datacenters\":{rand-json},\"Targets\":{rand-json}}}}",
        "{\"Name\":\"{rand}\",\"Service\":{\"Service\":\"web\",\"Failover\":{rand-json},\"Near\":{rand-json},\"Connect\":{rand-json}}}",
        "{\"Name\":\"{rand}\",\"Template\":{\"Type\":{rand-json},\"Regexp\":{rand-json},\"RemoveEmptyTags\":{rand-json}},\"Service\":{\"Service\":\"${name.full}\"}}",
        "{\"Name\":\"{rand}\",\"Template\":{\"Type\":\"name_prefix_match\",\"Regexp\":\"{regexp}\"},\"Service\":{\"Service\":\"{interpolation}\",\"Tags\":[\"{interpolation}\"]}}",
        "{\"Name\":\"{rand}\",\"Service\":{\"Service\":\"web\",\"NodeMeta\":{rand-json},\"ServiceMeta\":{rand-json}},\"DNS\":{\"TTL\":{rand-json}}}",
        "{\"Name\":\"{rand}\",\"Service\":{\"Service\":\"web\",\"NodeMeta\":{\"{rand}\":\"v\"}},\"DNS\":{rand-json}}",
        "{\"Session\":{rand-json},\"Service\":{\"Service\":\"web\"}}",
        "{\"Session\":\"{uuid}\",\"Template\":{rand-json},\"Service\":{\"Service\":\"web\"}}",
        "{\"ID\":{rand-json},\"Token\":{rand-json},\"Service\":{\"Service\":\"web\"}}",
        "{\"Name\":\"{uuid}\",\"Service\":{\"Service\":\"web\"}}",
        "{\"Template\":{\"Type\":\"name_prefix_match\"},\"Service\":{\"Service\":\"${name.full}\"}}",
    ];

    // Regexps and interpolations for templates: RE2 syntax .NET lacks, oversized automata, malformed HIL.
    private static readonly string[] QueryRegexps =
    [
        "(", "[", "\\\\", "(?P<x>a)(b)", "(?<=x)y", "a{1000000}", "((a{100}){100}){100}", "\\\\pL+", "[[:alpha:]]+", "(?i)web-(.*)",
        "^(.*?)-([^\\\\-]+?)$", "(a|b)*c\\\\1", "\\\\Q.\\\\E", "",
    ];

    private static readonly string[] QueryInterpolations =
    [
        "${", "${name.full", "${match(99999999999)}", "${match(-1)}", "$${x}", "${nope}", "${match()}", "${1+1}", "}${",
        "${name.full}${name.suffix}", "${ match( 2 ) }", "${match(\\\"x\\\")}", "${agent.segment}", "${{}}",
    ];

    private static readonly string[] QueryParameters =
    [
        "limit=x", "limit=-1", "limit=1", "limit=99999999999999999999", "limit=", "connect=maybe", "connect=true", "connect=1",
        "near=_agent", "near=_ip", "near={rand}", "near=", "index=1&wait=10ms", "stale&consistent", "pretty",
    ];

    private static readonly string[] JsonValues =
        ["null", "1", "-1", "1e400", "99999999999", "\"\"", "\"x\"", "\"10s\"", "\"forever\"", "true", "[]", "[1]", "{}", "{\"a\":1}", "\"\\ud800\""];

    private static readonly string[] Filters =
    [
        "", "Service.Tags contains", "==", "((((", "Node.Meta.x == \"a\" and", "ServiceName matches \"(\"", "not not not",
        "Checks.Status == passing", "Service.Port == 1e999", "\"/a/b\" in Service.Tags", new string('(', 100) + "a == b",
    ];

    private static readonly string[] Keys =
    [
        "fuzz/a", "fuzz/b/c", "%FF%FE", "%C3%28", "%E2%82", "%ED%A0%80", "%C0%AF", "a%00b", "%00", "%", "%z", "%zz", "%%",
        "%2F", "%2F%2F", "%2e%2e%2f%2e%2e%2fetc", "..", "../..", "fuzz/%C3%BC", "fuzz/%F0%9F%99%82", "a%20b", "a+b",
        "a;b", "*", "a%5Cb", "%7B%7D", "fuzz/", "fuzz//x", "%FE%FF%FD", "%F8%88%80%80%80",
    ];

    private static readonly string[] QueryFragments =
    [
        "index=abc", "index=-1", "index=1.5", "index=18446744073709551616", "index=", "index=0x10", "index=0",
        "wait=10x", "wait=-1s", "wait=1e3", "wait=", "wait=99999999999999h", "wait=5", "wait=1h", "cas=-1", "cas=abc", "cas=",
        "cas=1e3", "cas=0", "cas=18446744073709551616", "flags=1e3", "flags=-1", "flags=18446744073709551616", "flags=abc",
        "flags=", "recurse&cas=1", "stale&consistent", "stale", "consistent", "recurse", "keys", "raw", "separator=/",
        "separator=", "keys&separator=%00", "acquire={uuid}", "release={uuid}", "acquire=&release=", "acquire={uuid}&cas=0",
        "acquire=x&release=y", "acquire=%FF", "max_stale=abc", "max_stale=10x", "pretty", "token=abc", "%zz=1", "a=%zz",
        "=", "&&&", "recurse=false", "keys=maybe", "name=%FF", "node=((", "service=[", "tag=*", "dc=", "raw&keys",
        "recurse&keys&raw", "%00=%00",
    ];

    /// <summary>Valid blocking parameters: always with a short wait and never mixed with other index/wait values.</summary>
    private static readonly string[] BlockingFragments = ["index=1&wait=10ms", "index=18446744073709551615&wait=25ms", "index=3&wait=1ms"];

    private static readonly string[] JsonJunk =
    [
        "", "{", "[", "]", "[{", "nul", "{\"KV\":", "{}", "null", "1", "\"x\"", "true", "[1,2]", "[null]", "[[]]", "[\"KV\"]",
        "{\"a\":}", "[,]", "{\"TTL\":}", "\u0000", "{\"Name\":\"\\ud800\"}", "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"k\",}}]",
    ];

    private static readonly string[] TxnOps =
    [
        "{\"KV\":\"x\"}", "{\"KV\":null}", "{\"KV\":{}}", "{\"KV\":{\"Verb\":1}}", "{\"KV\":{\"Verb\":\"set\"}}",
        "{\"KV\":{\"Verb\":\"set\",\"Key\":1}}", "{\"KV\":{\"Verb\":\"set\",\"Key\":\"fuzz/t\",\"Value\":\"!!!not base64\"}}",
        "{\"KV\":{\"Verb\":\"set\",\"Key\":\"fuzz/t\",\"Value\":\"YWJj=\"}}", "{\"KV\":{\"Verb\":\"set\",\"Key\":\"fuzz/t\",\"Value\":5}}",
        "{\"KV\":{\"Verb\":\"set\",\"Key\":\"fuzz/t\",\"Flags\":-1}}", "{\"KV\":{\"Verb\":\"set\",\"Key\":\"fuzz/t\",\"Flags\":\"x\"}}",
        "{\"KV\":{\"Verb\":\"set\",\"Key\":\"fuzz/t\",\"Flags\":1e30}}", "{\"KV\":{\"Verb\":\"cas\",\"Key\":\"fuzz/t\",\"Index\":-1}}",
        "{\"KV\":{\"Verb\":\"cas\",\"Key\":\"fuzz/t\",\"Index\":\"abc\"}}", "{\"KV\":{\"Verb\":\"cas\",\"Key\":\"fuzz/t\",\"Index\":1.5}}",
        "{\"KV\":{\"Verb\":\"lock\",\"Key\":\"fuzz/t\",\"Session\":5}}", "{\"KV\":{\"Verb\":\"lock\",\"Key\":\"fuzz/t\",\"Session\":\"nope\"}}",
        "{\"KV\":{\"Verb\":\"lock\",\"Key\":\"fuzz/t\",\"Session\":\"{uuid}\"}}", "{\"KV\":{\"Verb\":\"unlock\",\"Key\":\"fuzz/t\",\"Session\":\"{uuid}\"}}",
        "{\"KV\":{\"Verb\":\"check-session\",\"Key\":\"fuzz/t\",\"Session\":\"{uuid}\"}}", "{\"KV\":{\"Verb\":\"explode\",\"Key\":\"fuzz/t\"}}",
        "{\"KV\":{\"Verb\":\"\",\"Key\":\"fuzz/t\"}}", "{\"KV\":{\"Verb\":\"get\",\"Key\":\"\"}}", "{\"KV\":{\"Verb\":\"delete-tree\",\"Key\":\"\"}}",
        "{\"KV\":{\"Verb\":\"set\",\"Verb\":\"get\",\"Key\":\"fuzz/t\"}}", "{\"KV\":{\"verb\":\"set\",\"key\":\"fuzz/lower\",\"value\":\"YQ==\"}}",
        "{\"Node\":{\"Verb\":\"set\",\"Node\":5}}", "{\"Service\":{\"Verb\":\"get\"}}", "{\"Check\":[]}", "{\"Unknown\":{}}", "{}",
        "{\"KV\":{\"Verb\":\"set\",\"Key\":\"fuzz/t\"},\"Node\":{\"Verb\":\"get\"}}", "{\"KV\":{\"Verb\":\"get-tree\",\"Key\":\"fuzz/\"}}",
        "{\"KV\":{\"Verb\":\"check-index\",\"Key\":\"fuzz/none\",\"Index\":0}}", "{\"KV\":{\"Verb\":\"check-not-exists\",\"Key\":\"fuzz/a\"}}",
        "{\"KV\":{\"Verb\":\"delete-cas\",\"Key\":\"fuzz/a\",\"Index\":0}}",
    ];

    private static readonly string[] SessionBodies =
    [
        "{\"TTL\": 5}", "{\"TTL\":\"5s\"}", "{\"TTL\":\"1x\"}", "{\"TTL\":\"100000h\"}", "{\"TTL\":\"-10s\"}", "{\"TTL\":\"\"}",
        "{\"LockDelay\":\"abc\"}", "{\"LockDelay\":-1}", "{\"LockDelay\":\"-5s\"}", "{\"LockDelay\":1e400}", "{\"LockDelay\":true}",
        "{\"Behavior\":\"explode\"}", "{\"Behavior\":1}", "{\"Node\":\"no-such-node\"}", "{\"Node\":5}", "{\"Checks\":\"x\"}",
        "{\"Checks\":[\"no-such-check\"]}", "{\"NodeChecks\":[1]}", "{\"NodeChecks\":[\"no-such-check\"]}", "{\"Name\":{}}",
        "{\"ServiceChecks\":[{\"ID\":5}]}", "{\"ServiceChecks\":\"x\"}", "{\"ttl\":\"10s\",\"name\":\"fuzz\"}", "{\"ID\":\"{uuid}\"}",
        "{\"Name\":\"\\u0000\"}", "[]", "{\"TTL\":\"10s\",\"TTL\":\"x\"}",
    ];

    /// <summary>Odd but well-formed (ASCII) header lines; Kestrel itself refuses non-ASCII header values.</summary>
    private static readonly string[] HeaderLines =
    [
        "X-Consul-Token: ../../etc/passwd", "X-Consul-Token: ", "Authorization: Bearer", "Authorization: Basic !!!",
        "Authorization: Bearer a b c", "Content-Type: application/json; charset=utf-16", "Content-Type: multipart/form-data",
        "Content-Type: ;;;", "Accept: application/x-garbage", "Accept-Encoding: gzip, br, zstd", "Expect: 100-continue",
        "X-Consul-Index: abc", "X-Forwarded-For: not-an-ip", "Cookie: =;=;=", "Range: bytes=-5",
    ];

    /// <summary>Generates <paramref name="count"/> requests from <paramref name="seed"/>.</summary>
    public static IReadOnlyList<FuzzRequest> Generate(int seed, int count)
    {
        var random = new Random(seed);
        var list = new List<FuzzRequest>(count);
        for (var i = 0; i < count; i++)
        {
            var roll = random.Next(100);
            list.Add(roll switch
            {
                < 27 => RandomEndpoint(random, i),
                < 32 => Intention(random, i),
                < 40 => Registration(random, i),
                < 55 => Txn(random, i),
                < 65 => SessionCreate(random, i),
                < 77 => Key(random, i),
                < 83 => PreparedQuery(random, i),
                < 91 => ConfigEntry(random, i),
                < 96 => UnknownSession(random, i),
                _ => Oversized(random, i),
            });
        }

        return list;
    }

    private static FuzzRequest RandomEndpoint(Random r, int n)
    {
        string path;
        do
        {
            path = Fill(r, Pick(r, Paths));
        }
        while (path.Contains("leave", StringComparison.OrdinalIgnoreCase) || path.Contains("monitor", StringComparison.OrdinalIgnoreCase));

        return new FuzzRequest(n, "endpoint", Pick(r, Methods), Ascii(path + Query(r)), RandomBody(r), Headers(r));
    }

    private static FuzzRequest Registration(Random r, int n)
    {
        var (path, body) = Pick(r, Registrations);
        path = Fill(r, path.Replace("{filter}", Uri.EscapeDataString(Pick(r, Filters)), StringComparison.Ordinal));
        while (body.Contains("{rand-json}", StringComparison.Ordinal)) body = ReplaceFirst(body, "{rand-json}", Pick(r, JsonValues));
        body = Fill(r, body);
        var method = body.Length == 0 ? "GET" : r.Next(8) == 0 ? Pick(r, Methods) : "PUT";
        return new FuzzRequest(n, "registration", method, Ascii(path), body.Length == 0 ? null : Encoding.UTF8.GetBytes(body), []);
    }

    private static FuzzRequest Txn(Random r, int n)
    {
        string body;
        switch (r.Next(6))
        {
            case 0:
                body = Pick(r, JsonJunk);
                break;
            case 1:
            {
                // Too many operations: 65 and 129 straddle the old (64) and new (128) limits.
                var ops = Pick(r, (int[])[65, 129, 200, 1000]);
                body = "[" + string.Join(',', Enumerable.Range(0, ops).Select(k => $"{{\"KV\":{{\"Verb\":\"set\",\"Key\":\"fuzz/many/{k}\",\"Value\":\"eA==\"}}}}")) + "]";
                break;
            }

            case 2:
                body = new string('[', 5000 + r.Next(5000)) + new string(']', 5000);
                break;
            default:
            {
                var ops = Enumerable.Range(0, 1 + r.Next(4)).Select(_ => Fill(r, Pick(r, TxnOps)));
                body = "[" + string.Join(',', ops) + "]";
                break;
            }
        }

        var bytes = Encoding.UTF8.GetBytes(body);
        if (r.Next(10) == 0)
        {
            bytes = [.. bytes, 0xff, 0xfe, 0xc3, 0x28]; // invalid UTF-8 after the JSON
        }

        var method = r.Next(8) == 0 ? Pick(r, Methods) : "PUT";
        return new FuzzRequest(n, "txn", method, Ascii("/v1/txn" + (r.Next(4) == 0 ? Query(r) : "")), bytes, []);
    }

    private static FuzzRequest SessionCreate(Random r, int n)
    {
        var body = r.Next(3) == 0 ? Pick(r, JsonJunk) : Fill(r, Pick(r, SessionBodies));
        var bytes = r.Next(12) == 0 ? RandomBytes(r, 1 + r.Next(200)) : Encoding.UTF8.GetBytes(body);
        var method = r.Next(8) == 0 ? Pick(r, Methods) : "PUT";
        return new FuzzRequest(n, "session-create", method, Ascii("/v1/session/create" + (r.Next(4) == 0 ? Query(r) : "")), bytes, []);
    }

    private static FuzzRequest PreparedQuery(Random r, int n)
    {
        if (r.Next(3) == 0)
        {
            // Execute or explain a random name with random parameters.
            var operation = r.Next(2) == 0 ? "execute" : "explain";
            var parameters = Enumerable.Range(0, 1 + r.Next(3)).Select(_ => Fill(r, Pick(r, QueryParameters)));
            var method = r.Next(8) == 0 ? Pick(r, Methods) : "GET";
            return new FuzzRequest(n, "prepared-query", method, Ascii(Fill(r, $"/v1/query/{{name}}/{operation}?") + string.Join('&', parameters)), null, []);
        }

        var body = Pick(r, QueryBodies)
            .Replace("{regexp}", Pick(r, QueryRegexps), StringComparison.Ordinal)
            .Replace("{interpolation}", Pick(r, QueryInterpolations), StringComparison.Ordinal);
        while (body.Contains("{rand-json}", StringComparison.Ordinal)) body = ReplaceFirst(body, "{rand-json}", Pick(r, JsonValues));
        var bytes = r.Next(10) == 0 ? Encoding.UTF8.GetBytes(Pick(r, JsonJunk)) : Encoding.UTF8.GetBytes(Fill(r, body));
        return r.Next(3) == 0
            ? new FuzzRequest(n, "prepared-query", "PUT", Ascii(Fill(r, "/v1/query/{id}")), bytes, [])
            : new FuzzRequest(n, "prepared-query", r.Next(10) == 0 ? Pick(r, Methods) : "POST", Ascii("/v1/query"), bytes, []);
    }

    private static FuzzRequest ConfigEntry(Random r, int n)
    {
        if (r.Next(4) == 0)
        {
            // Read or delete an entry by kind and name, with the query parameters those take.
            var method = Pick(r, (string[])["GET", "GET", "DELETE", "DELETE", "PUT", "POST"]);
            var name = Pick(r, EntryNames);
            var target = $"/v1/config/{Pick(r, Kinds)}" + (r.Next(4) == 0 ? "" : "/" + name) + Pick(r, ConfigQueries);
            return new FuzzRequest(n, "config-entry", method, Ascii(FillConfig(r, target)), null, []);
        }

        var body = Pick(r, ConfigBodies);
        while (body.Contains("{rand-json}", StringComparison.Ordinal)) body = ReplaceFirst(body, "{rand-json}", Pick(r, JsonValues));
        var bytes = r.Next(10) == 0 ? Encoding.UTF8.GetBytes(Pick(r, JsonJunk)) : Encoding.UTF8.GetBytes(FillConfig(r, body));
        var verb = r.Next(10) == 0 ? Pick(r, Methods) : "PUT";
        return new FuzzRequest(n, "config-entry", verb, Ascii(FillConfig(r, "/v1/config" + Pick(r, ConfigQueries))), bytes, []);
    }

    private static FuzzRequest Intention(Random r, int n)
    {
        string Name() => Pick(r, IntentionNames);
        var exact = $"/v1/connect/intentions/exact?source={Name()}&destination={Name()}" + (r.Next(6) == 0 ? "&" + Fill(r, Pick(r, QueryFragments)) : "");
        var byId = "/v1/connect/intentions/" + (r.Next(3) == 0 ? RandomSegment(r) : Uuid(r));
        var (method, target) = r.Next(8) switch
        {
            0 or 1 or 2 => ("PUT", exact),
            3 => (Pick(r, (string[])["GET", "DELETE", "DELETE"]), exact),
            4 => ("POST", "/v1/connect/intentions" + (r.Next(4) == 0 ? "?" + Fill(r, Pick(r, QueryFragments)) : "")),
            5 => (Pick(r, (string[])["GET", "PUT", "DELETE"]), byId),
            6 => ("GET", Pick(r, (string[])[
                $"/v1/connect/intentions/match?by={Pick(r, (string[])["source", "destination", "", "x"])}&name={Name()}",
                $"/v1/connect/intentions/check?source={Name()}&destination={Name()}",
                "/v1/connect/intentions?filter=" + Uri.EscapeDataString(Pick(r, Filters)),
                "/v1/connect/intentions?index=1&wait=10ms"])),
            _ => (Pick(r, Methods), Pick(r, (string[])[exact, byId, "/v1/connect/intentions"])),
        };
        byte[]? bytes = null;
        if (method is "PUT" or "POST" || r.Next(4) == 0)
        {
            var body = Pick(r, IntentionBodies);
            while (body.Contains("{rand-json}", StringComparison.Ordinal)) body = ReplaceFirst(body, "{rand-json}", Pick(r, JsonValues));
            while (body.Contains("{intention-name}", StringComparison.Ordinal)) body = ReplaceFirst(body, "{intention-name}", Name());
            bytes = r.Next(10) == 0 ? Encoding.UTF8.GetBytes(Pick(r, JsonJunk)) : Encoding.UTF8.GetBytes(FillConfig(r, body));
        }
        return new FuzzRequest(n, "intention", method, Ascii(target), bytes, []);
    }

    private static string FillConfig(Random r, string template)
    {
        var s = template;
        while (s.Contains("{entry}", StringComparison.Ordinal)) s = ReplaceFirst(s, "{entry}", Pick(r, (string[])["fuzz-a", "fuzz-b", "fuzz-c"]));
        while (s.Contains("{kind}", StringComparison.Ordinal)) s = ReplaceFirst(s, "{kind}", Pick(r, Kinds));
        while (s.Contains("{protocol}", StringComparison.Ordinal)) s = ReplaceFirst(s, "{protocol}", Pick(r, Protocols));
        while (s.Contains("{filter}", StringComparison.Ordinal))
        {
            // A filter inside a JSON string: escaped as JSON, quotes and all.
            var filter = System.Text.Json.JsonSerializer.Serialize(Pick(r, Filters))[1..^1];
            s = ReplaceFirst(s, "{filter}", filter);
        }

        s = s.Replace("{index}", r.Next(1, 200).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return Fill(r, s);
    }

    private static FuzzRequest Key(Random r, int n)
    {
        var key = string.Concat(Enumerable.Range(0, 1 + r.Next(3)).Select(_ => Pick(r, Keys)));
        if (r.Next(15) == 0)
        {
            key = "fuzz/" + new string('k', 1000 + r.Next(1000));
        }

        var method = Pick(r, (string[])["GET", "PUT", "DELETE", "GET", "PUT"]);
        var body = method == "PUT" ? RandomBody(r) ?? [] : null;
        return new FuzzRequest(n, "key", method, Ascii("/v1/kv/" + key + Query(r)), body, Headers(r));
    }

    private static FuzzRequest UnknownSession(Random r, int n)
    {
        var id = r.Next(3) switch
        {
            0 => Uuid(r),
            1 => Pick(r, (string[])["not-a-uuid", "%FF", "..%2F..", "00000000-0000-0000-0000-000000000000", "%00", "x/y", ""]),
            _ => Uuid(r).ToUpperInvariant(),
        };
        var (method, target, body) = r.Next(6) switch
        {
            0 => ("PUT", $"/v1/kv/fuzz/lock?acquire={id}", Encoding.UTF8.GetBytes("v")),
            1 => ("PUT", $"/v1/kv/fuzz/lock?release={id}", Encoding.UTF8.GetBytes("v")),
            2 => ("PUT", $"/v1/session/renew/{id}", (byte[]?)null),
            3 => ("GET", $"/v1/session/info/{id}", null),
            4 => ("PUT", $"/v1/session/destroy/{id}", null),
            _ => ("PUT", "/v1/txn", Encoding.UTF8.GetBytes($"[{{\"KV\":{{\"Verb\":\"lock\",\"Key\":\"fuzz/lock\",\"Value\":\"eA==\",\"Session\":\"{id}\"}}}}]")),
        };
        return new FuzzRequest(n, "unknown-session", method, Ascii(target), body, []);
    }

    private static FuzzRequest Oversized(Random r, int n)
    {
        var size = OverValueLimit + r.Next(256 * 1024);
        var body = new byte[size];
        r.NextBytes(body);
        var target = Pick(r, (string[])["/v1/kv/fuzz/huge", "/v1/kv/fuzz/huge?cas=0", "/v1/txn", "/v1/session/create", "/v1/event/fire/huge"]);
        if (target == "/v1/txn")
        {
            // A well-formed transaction whose one value is over the limit.
            var value = Convert.ToBase64String(body);
            body = Encoding.ASCII.GetBytes($"[{{\"KV\":{{\"Verb\":\"set\",\"Key\":\"fuzz/huge\",\"Value\":\"{value}\"}}}}]");
        }

        return new FuzzRequest(n, "oversized", "PUT", Ascii(target), body, []);
    }

    private static string[] Headers(Random r) =>
        r.Next(4) == 0 ? Enumerable.Range(0, 1 + r.Next(3)).Select(_ => Pick(r, HeaderLines)).Distinct().ToArray() : [];

    private static string Query(Random r)
    {
        var roll = r.Next(10);
        if (roll < 2)
        {
            return "";
        }

        if (roll == 2)
        {
            return "?" + Pick(r, BlockingFragments);
        }

        var parts = Enumerable.Range(0, 1 + r.Next(3)).Select(_ => Fill(r, Pick(r, QueryFragments))).ToList();
        return "?" + string.Join('&', parts);
    }

    private static byte[]? RandomBody(Random r) => r.Next(6) switch
    {
        0 => null,
        1 => [],
        2 => Encoding.UTF8.GetBytes(Pick(r, JsonJunk)),
        3 => RandomBytes(r, 1 + r.Next(300)),
        4 => [0xff, 0xfe, 0xfd, 0xc3, 0x28, 0xed, 0xa0, 0x80],
        _ => Encoding.UTF8.GetBytes("value-" + r.Next()),
    };

    private static string Fill(Random r, string template)
    {
        var s = template;
        while (s.Contains("{uuid}", StringComparison.Ordinal))
        {
            s = ReplaceFirst(s, "{uuid}", Uuid(r));
        }

        while (s.Contains("{rand}", StringComparison.Ordinal))
        {
            s = ReplaceFirst(s, "{rand}", RandomSegment(r));
        }

        while (s.Contains("{kind}", StringComparison.Ordinal))
        {
            s = ReplaceFirst(s, "{kind}", Pick(r, Kinds));
        }

        return s.Replace("{key}", "fuzz/" + RandomSegment(r), StringComparison.Ordinal)
            .Replace("{id}", r.Next(2) == 0 ? Uuid(r) : RandomSegment(r), StringComparison.Ordinal)
            .Replace("{node}", RandomSegment(r), StringComparison.Ordinal)
            .Replace("{name}", RandomSegment(r), StringComparison.Ordinal);
    }

    private static string ReplaceFirst(string s, string what, string with)
    {
        var at = s.IndexOf(what, StringComparison.Ordinal);
        return s[..at] + with + s[(at + what.Length)..];
    }

    private static string RandomSegment(Random r)
    {
        const string chars = "abcdefghijklmnopqrstuvwxyz0123456789-_.~%!$'()*+,;=:@";
        var length = 1 + r.Next(12);
        var sb = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            sb.Append(chars[r.Next(chars.Length)]);
        }

        return sb.ToString();
    }

    private static string Uuid(Random r)
    {
        var bytes = new byte[16];
        r.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private static byte[] RandomBytes(Random r, int length)
    {
        var bytes = new byte[length];
        r.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random r, IReadOnlyList<T> items) => items[r.Next(items.Count)];

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
}
