using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Robustness;

/// <summary>
/// Malformed, random and hostile requests against a real dev agent. Every answer must be a client error or a
/// success, never a 5xx; every 4xx must explain itself in a non-empty one-line body; and afterwards the agent must
/// still answer /v1/status/leader and a KV round trip. The corpus comes from a fixed seed (override with
/// MESH_FUZZ_SEED to explore), so a failure names the request that reproduces it.
/// </summary>
public sealed class MalformedRequestTests
{
    private const int DefaultSeed = 0x4D455348; // "MESH"
    private const int FuzzedRequestCount = 1200;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(20);

    private static int Seed =>
        int.TryParse(Environment.GetEnvironmentVariable("MESH_FUZZ_SEED"), out var seed) ? seed : DefaultSeed;

    [Fact]
    public async Task FuzzedRequests_FixedSeed_NeverServerErrorAndEvery4xxExplained()
    {
        await using var agent = await AgentProcess.StartAsync();
        var corpus = MalformedRequestCorpus.Generate(Seed, FuzzedRequestCount);
        var problems = new ConcurrentBag<(int Number, string Text)>();
        var statuses = new ConcurrentDictionary<int, int>();

        await Parallel.ForEachAsync(corpus, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (request, _) =>
        {
            var isHead = request.Method.Equals("HEAD", StringComparison.OrdinalIgnoreCase);
            var bytes = RawHttp.Request(request.Method, request.Target, request.Body, request.Headers, agent.HostPort);
            var response = await RawHttp.SendAsync(agent.Host, agent.Port, bytes, RequestTimeout, isHead);
            statuses.AddOrUpdate(response.StatusCode ?? 0, 1, (_, c) => c + 1);
            if (Judge(request.Method, Encoding.ASCII.GetString(request.Target), response) is { } problem)
            {
                problems.Add((request.Number, $"{request.Describe()}\n    -> {problem}"));
            }
        });

        var health = await HealthProblemAsync(agent);
        var summary = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(s.Key == 0 ? "none" : s.Key.ToString())}: {s.Value}"));
        Assert.True(
            problems.IsEmpty && health is null,
            $"seed {Seed}: {problems.Count} of {corpus.Count} requests misbehaved (statuses {summary})" +
            (health is null ? "" : $"\nAFTERWARDS THE AGENT IS UNHEALTHY: {health}") + "\n" +
            string.Join('\n', problems.OrderBy(p => p.Number).Take(40).Select(p => p.Text)) +
            $"\n--- agent output (tail) ---\n{agent.OutputTail(60)}");
    }

    /// <summary>Inputs whose answer Consul's contract pins down (REFERENCE.md §1), each checked for its status.</summary>
    [Fact]
    public async Task KnownBadRequests_EachCase_AnswerTheDocumentedClientError()
    {
        await using var agent = await AgentProcess.StartAsync();
        var ghost = Guid.NewGuid().ToString();
        var manyOps = "[" + string.Join(',', Enumerable.Range(0, 129).Select(i => $"{{\"KV\":{{\"Verb\":\"set\",\"Key\":\"known/many/{i}\",\"Value\":\"eA==\"}}}}")) + "]";
        KnownCase[] cases =
        [
            new("GET", "/v1/kv/known?index=abc", null, [400], "malformed index"),
            new("GET", "/v1/kv/known?index=-1", null, [400], "negative index"),
            new("GET", "/v1/kv/known?index=1&wait=10x", null, [400], "malformed wait"),
            new("GET", "/v1/kv/known?wait=10x", null, [400], "malformed wait without index"),
            new("GET", "/v1/kv/known?stale&consistent", null, [400], "stale and consistent together"),
            new("PUT", "/v1/kv/known?cas=1&acquire=" + ghost, Utf8("v"), [400], "cas with acquire"),
            new("PUT", "/v1/kv/known?acquire=" + ghost + "&release=" + ghost, Utf8("v"), [400], "acquire with release"),
            new("DELETE", "/v1/kv/known?recurse&cas=1", null, [400], "delete with recurse and cas"),
            new("PUT", "/v1/kv/known?cas=-1", Utf8("v"), [400], "negative cas"),
            new("PUT", "/v1/kv/known?cas=abc", Utf8("v"), [400], "non-numeric cas"),
            new("PUT", "/v1/kv/known?flags=1e3", Utf8("v"), [400], "flags in exponent form"),
            new("PUT", "/v1/kv/known?flags=-1", Utf8("v"), [400], "negative flags"),
            new("PUT", "/v1/kv/known?flags=18446744073709551616", Utf8("v"), [400], "flags over uint64"),
            new("PUT", "/v1/kv/", Utf8("v"), [400], "PUT without a key"),
            new("PUT", "/v1/kv/known/huge", new byte[MalformedRequestCorpus.OverValueLimit], [413], "value over 512 KiB"),
            new("PUT", "/v1/kv/known/limit", new byte[MalformedRequestCorpus.OverValueLimit - 1], [200], "value of exactly 512 KiB (allowed)"),
            new("PUT", "/v1/txn", Utf8("[{"), [400], "txn with invalid JSON"),
            new("PUT", "/v1/txn", Utf8("{}"), [400], "txn body that is not an array"),
            new("PUT", "/v1/txn", Utf8("[{\"KV\":{\"Verb\":\"set\",\"Key\":\"known/t\",\"Value\":\"!!!\"}}]"), [400], "txn value that is not base64"),
            new("PUT", "/v1/txn", Utf8("[{\"KV\":{\"Verb\":\"set\",\"Key\":5}}]"), [400], "txn key of the wrong JSON type"),
            new("PUT", "/v1/txn", Utf8(manyOps), [413, 400], "txn with 129 operations"),
            new("PUT", "/v1/txn", Utf8("[{\"KV\":{\"Verb\":\"explode\",\"Key\":\"known/t\"}}]"), [400, 409], "txn with an unknown verb"),
            new("PUT", "/v1/session/create", Utf8("{"), [400], "session create with invalid JSON"),
            new("PUT", "/v1/session/create", Utf8("{\"TTL\": 5}"), [400], "session TTL of the wrong JSON type"),
            new("PUT", "/v1/session/create", Utf8("{\"TTL\":\"5s\"}"), [400], "session TTL under 10s"),
            new("PUT", "/v1/session/create", Utf8("{\"TTL\":\"90000s\"}"), [400], "session TTL over 24h"),
            new("PUT", "/v1/session/create", Utf8("{\"Behavior\":\"explode\"}"), [400], "unknown session behavior"),
            new("PUT", "/v1/session/create", Utf8("{\"Name\":\"\\ud800\"}"), [200, 400], "session name with a lone UTF-16 surrogate escape (Go decodes it as U+FFFD)"),
            new("PUT", "/v1/txn", Utf8("[{\"KV\":{\"Verb\":\"set\",\"Key\":\"\\udc00\",\"Value\":\"eA==\"}}]"), [200, 400], "txn key with a lone UTF-16 surrogate escape (Go decodes it as U+FFFD)"),
            new("PUT", "/v1/txn", Utf8(new string('[', 10_000) + new string(']', 10_000)), [400], "txn nested 10,000 deep"),
            new("PUT", "/v1/txn", [0x5b, 0xff, 0xfe, 0x5d], [400], "txn body that is not UTF-8"),
            new("PUT", "/v1/session/renew/" + ghost, null, [404], "renew of an unknown session"),
            new("PUT", "/v1/kv/known/lock?acquire=" + ghost, Utf8("v"), [200, 400, 404], "acquire with an unknown session", OkMustBeFalse: true),
            new("PUT", "/v1/kv/known/lock?acquire=not-a-uuid", Utf8("v"), [200, 400, 404], "acquire with a malformed session id", OkMustBeFalse: true),
            new("PUT", "/v1/event/fire/known?node=((", null, [400], "event with an invalid node regex"),
            new("POST", "/v1/query", Utf8("{"), [400], "prepared query with invalid JSON"),
            new("POST", "/v1/query", Utf8("{\"Name\":\"known\"}"), [400], "prepared query without a service"),
            new("POST", "/v1/query", Utf8("{\"Name\":\"known\",\"Service\":{\"Service\":\"web\"},\"DNS\":{\"TTL\":\"soon\"}}"), [400], "prepared query with a TTL that is not a duration"),
            new("POST", "/v1/query", Utf8("{\"Name\":\"t\",\"Template\":{\"Type\":\"name_prefix_match\",\"Regexp\":\"a{1000000}\"},\"Service\":{\"Service\":\"web\"}}"), [400], "template regexp too large to compile"),
            new("POST", "/v1/query", Utf8("{\"Name\":\"known\",\"Session\":\"" + ghost + "\",\"Service\":{\"Service\":\"web\"}}"), [400], "prepared query bound to an unknown session"),
            new("GET", "/v1/query/" + ghost, null, [404], "unknown prepared query"),
            new("PUT", "/v1/query/" + ghost, Utf8("{\"Name\":\"x\",\"Service\":{\"Service\":\"web\"}}"), [404], "update of an unknown prepared query"),
            new("DELETE", "/v1/query/" + ghost, null, [404], "delete of an unknown prepared query"),
            new("GET", "/v1/query/no-such-query/execute", null, [404], "execute of an unknown prepared query"),
            new("GET", "/v1/query/no-such-query/execute?limit=abc", null, [400], "execute with a malformed limit"),
            new("PUT", "/v1/query/no-such-query/execute", null, [405], "execute with a method other than GET"),
            new("PUT", "/v1/connect/ca/configuration", Utf8("{"), [400], "CA configuration with invalid JSON"),
            new("PUT", "/v1/connect/ca/configuration", Utf8("{\"Config\":{\"LeafCertTTL\":\"1s\"}}"), [400], "leaf TTL under 1h"),
            new("PUT", "/v1/connect/ca/configuration", Utf8("{\"Config\":[]}"), [400], "CA Config that is not an object"),
            new("POST", "/v1/connect/ca/sign", Utf8("{\"CSR\":\"x\"}"), [400], "CSR that is not PEM"),
            new("POST", "/v1/connect/ca/sign", Utf8("{\"CSR\":7}"), [400], "CSR of the wrong JSON type"),
            new("POST", "/v1/agent/connect/authorize", Utf8("{}"), [400], "authorize without a target"),
            new("GET", "/v1/agent/connect/ca/leaf/", null, [400], "leaf without a service name"),
            new("PUT", "/v1/config", Utf8("{"), [400], "config entry with invalid JSON"),
            new("PUT", "/v1/config", Utf8("{\"Kind\":\"bogus\",\"Name\":\"x\"}"), [400], "config entry of an unknown kind"),
            new("PUT", "/v1/config", Utf8("{\"Kind\":\"service-defaults\",\"Name\":\"x\",\"Protocol\":7}"), [400], "config entry field of the wrong JSON type"),
            new("PUT", "/v1/config", Utf8("{\"Kind\":\"service-router\",\"Name\":\"known\",\"Routes\":[{\"Match\":{\"HTTP\":{\"PathPrefix\":\"/a\"}}}]}"), [400], "router on a tcp service"),
            new("PUT", "/v1/config", Utf8("{\"Kind\":\"service-resolver\",\"Name\":\"known\",\"Subsets\":{\"v1\":{\"Filter\":\"((((\"}}}"), [400], "resolver subset filter that does not parse"),
            new("PUT", "/v1/config", Utf8("{\"Kind\":\"service-splitter\",\"Name\":\"known\",\"Splits\":[{\"Weight\":1e400}]}"), [400], "split weight out of range"),
            new("PUT", "/v1/config?cas=abc", Utf8("{\"Kind\":\"service-defaults\",\"Name\":\"x\"}"), [400], "config entry with a non-numeric cas"),
            new("PUT", "/v1/config?cas=5", Utf8("{\"Kind\":\"service-defaults\",\"Name\":\"never\"}"), [200], "config entry cas on an absent entry", OkMustBeFalse: true),
            new("GET", "/v1/config/bogus", null, [400], "config list of an unknown kind"),
            new("GET", "/v1/config/service-defaults/absent", null, [404], "config entry that does not exist"),
            new("DELETE", "/v1/config/service-defaults", null, [404], "config delete without a name"),
            new("DELETE", "/v1/config/bogus/x", null, [400], "config delete of an unknown kind"),
            new("POST", "/v1/config", Utf8("{}"), [405], "config write with POST"),
            new("PUT", "/v1/connect/intentions/exact?destination=db", Utf8("{\"Action\":\"allow\"}"), [400], "intention upsert without a source"),
            new("PUT", "/v1/connect/intentions/exact?source=web&destination=db", Utf8("{"), [400], "intention upsert with invalid JSON"),
            new("PUT", "/v1/connect/intentions/exact?source=web&destination=db", Utf8("{\"Action\":\"sometimes\"}"), [400], "intention with an unknown action"),
            new("PUT", "/v1/connect/intentions/exact?source=web&destination=db", Utf8("{\"Permissions\":[{\"Action\":\"allow\",\"HTTP\":{\"PathPrefix\":\"/\"}}]}"), [400], "L7 intention on a tcp service"),
            new("PUT", "/v1/connect/intentions/exact?source=a/b/c/d&destination=db", Utf8("{\"Action\":\"allow\"}"), [400], "intention source with three slashes"),
            new("GET", "/v1/connect/intentions/exact?source=web&destination=nowhere", null, [404], "intention that does not exist"),
            new("POST", "/v1/connect/intentions", Utf8("{\"DestinationName\":\"db\",\"Action\":\"allow\"}"), [400], "legacy intention without a source"),
            new("POST", "/v1/connect/intentions", Utf8("{\"SourceName\":\"web\",\"DestinationName\":\"db\",\"Action\":5}"), [400], "legacy intention action of the wrong JSON type"),
            new("GET", "/v1/connect/intentions/not-a-uuid", null, [400], "intention ID that is not a UUID"),
            new("GET", "/v1/connect/intentions/" + ghost, null, [404], "intention ID that does not exist"),
            new("PUT", "/v1/connect/intentions/" + ghost, Utf8("{\"SourceName\":\"web\",\"DestinationName\":\"db\",\"Action\":\"allow\"}"), [404], "update of an unknown intention"),
            new("DELETE", "/v1/connect/intentions/" + ghost, null, [404], "delete of an unknown intention"),
            new("PATCH", "/v1/connect/intentions", Utf8("{}"), [405], "intentions with a method the route does not have"),
            new("GET", "/v1/connect/intentions/match?by=sideways&name=db", null, [400], "intention match by neither source nor destination"),
            new("PATCH", "/v1/kv/known", Utf8("v"), [405], "method the route does not have"),
            new("GET", "/v1/no-such-endpoint", null, [404], "unknown endpoint"),
        ];

        var problems = new List<string>();
        foreach (var (method, target, body, allowed, why, okMustBeFalse) in cases)
        {
            var response = await RawHttp.SendAsync(agent.Host, agent.Port, RawHttp.Request(method, Encoding.ASCII.GetBytes(target), body, null, agent.HostPort), RequestTimeout);
            var describe = $"{why}: {method} {Shorten(target)}{(body is null ? "" : $" ({body.Length}-byte body)")}";
            if (Judge(method, target, response) is { } problem)
            {
                problems.Add($"{describe}\n    -> {problem}");
            }
            else if (response.StatusCode is not { } status || !allowed.Contains(status))
            {
                problems.Add($"{describe}\n    -> expected {string.Join(" or ", allowed)}, got {Show(response)}");
            }
            else if (okMustBeFalse && status == 200 && response.BodyText.Trim() != "false")
            {
                problems.Add($"{describe}\n    -> a 200 here must say false (not acquired), got {Show(response)}");
            }
        }

        using (var http = new HttpClient { BaseAddress = agent.BaseAddress })
        {
            var info = await http.GetAsync($"v1/session/info/{ghost}");
            var text = await info.Content.ReadAsStringAsync();
            if (info.StatusCode != HttpStatusCode.OK || text.Trim() != "[]")
            {
                problems.Add($"info of an unknown session: GET /v1/session/info/{ghost}\n    -> expected 200 [], got {(int)info.StatusCode} {text}");
            }
        }

        var health = await HealthProblemAsync(agent);
        Assert.True(
            problems.Count == 0 && health is null,
            $"{problems.Count} of {cases.Length + 1} known-bad requests were answered wrongly:\n{string.Join('\n', problems)}" +
            (health is null ? "" : $"\nAFTERWARDS THE AGENT IS UNHEALTHY: {health}"));
    }

    /// <summary>Bytes that are not (valid) HTTP, each on its own connection: the agent may close or answer 4xx.</summary>
    [Fact]
    public async Task RawGarbageOverTcp_FixedSeed_NoServerErrorAndAgentKeepsServing()
    {
        await using var agent = await AgentProcess.StartAsync();
        var random = new Random(Seed);
        var cases = new List<(string Name, byte[] Bytes, int[] Also)>
        {
            ("HTTP/2 preface on the HTTP/1 port", Latin1("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), [505]),
            ("TLS ClientHello on the plain port", [0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, .. RandomBytes(random, 160)], []),
            ("request line only, then EOF", Latin1("GET /v1/status/leader HTTP/1.1\r\n"), []),
            ("headers never finished", Latin1("GET /v1/status/leader HTTP/1.1\r\nHost: x\r\nX-A: b"), []),
            ("raw non-ASCII bytes in the target", [.. Latin1("GET /v1/kv/"), 0xff, 0xfe, 0xc3, 0x28, .. Latin1(" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")], []),
            ("space and control bytes in the target", Latin1("GET /v1/kv/a b\u0001c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), []),
            ("NUL bytes in the request line", Latin1("GET /v1/kv/\0\0 HTTP/1.1\r\nHost: x\r\n\r\n"), []),
            ("header line without a colon", Latin1("GET /v1/status/leader HTTP/1.1\r\nHost: x\r\nthis is not a header\r\nConnection: close\r\n\r\n"), []),
            ("non-numeric Content-Length", Latin1("PUT /v1/kv/g HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\nv"), []),
            ("negative Content-Length", Latin1("PUT /v1/kv/g HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\nv"), []),
            ("two different Content-Lengths", Latin1("PUT /v1/kv/g HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nvv"), []),
            ("Content-Length longer than the body, then EOF", Latin1("PUT /v1/kv/g HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\nshort"), []),
            ("bad chunk size", Latin1("PUT /v1/kv/g HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"), []),
            ("chunked and Content-Length together", Latin1("PUT /v1/txn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\n\r\n3\r\n[{]\r\n0\r\n\r\n"), []),
            ("100 KB header", Latin1($"GET /v1/status/leader HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 100_000)}\r\nConnection: close\r\n\r\n"), []),
            ("unknown HTTP version", Latin1("GET /v1/status/leader HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n"), [505]),
            ("HTTP/1.1 without Host", Latin1("GET /v1/status/leader HTTP/1.1\r\nConnection: close\r\n\r\n"), []),
            ("absolute-form target for another host", Latin1("GET http://example.invalid/v1/kv/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), []),
            ("CONNECT with an origin-form target", Latin1("CONNECT /v1/kv/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), []),
        };
        for (var i = 0; i < 120; i++)
        {
            cases.Add(($"random bytes #{i}", RandomBytes(random, 1 + random.Next(4096)), []));
        }

        for (var i = 0; i < 40; i++)
        {
            // A valid request line followed by garbage: exercises the header parser rather than the method parser.
            cases.Add(($"request line + random bytes #{i}", [.. Latin1("PUT /v1/kv/garbage HTTP/1.1\r\n"), .. RandomBytes(random, 1 + random.Next(2048))], []));
        }

        var problems = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, _) =>
        {
            // Half-close after the bytes: an incomplete request then ends instead of waiting for Kestrel's timeouts.
            var response = await RawHttp.SendAsync(agent.Host, agent.Port, c.Bytes, RequestTimeout, halfClose: true);
            if (response.Error?.StartsWith("timed out", StringComparison.Ordinal) == true)
            {
                problems.Add($"{c.Name}: the connection hung ({response.Error}) after {FuzzRequest.Escape(c.Bytes, 80)}");
            }
            else if (response.StatusCode is { } status && status >= 500 && !c.Also.Contains(status))
            {
                problems.Add($"{c.Name}: answered {Show(response)}");
            }
        });

        var health = await HealthProblemAsync(agent);
        Assert.True(
            problems.IsEmpty && health is null,
            $"seed {Seed}: {problems.Count} of {cases.Count} garbage connections misbehaved:\n{string.Join('\n', problems.Order())}" +
            (health is null ? "" : $"\nAFTERWARDS THE AGENT IS UNHEALTHY: {health}") +
            $"\n--- agent output (tail) ---\n{agent.OutputTail(60)}");
    }

    /// <summary>
    /// The rules every answer to a well-formed HTTP request must follow: some status, no 5xx, no hang, and a 4xx
    /// carries a non-empty one-line explanation. Exceptions that Consul itself makes: a KV miss is a 404 with an
    /// empty body, HEAD has no body, and a rolled-back transaction (409) is a JSON document.
    /// </summary>
    internal static string? Judge(string method, string target, RawHttpResponse response)
    {
        if (response.StatusCode is not { } status)
        {
            return $"no HTTP response ({response.Error})";
        }

        if (status >= 500)
        {
            return $"server error {Show(response)}";
        }

        if (status is < 400 or >= 500)
        {
            return null;
        }

        if (method.Equals("HEAD", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rawPath = target.Split('?', 2)[0];
        var path = RemoveDotSegments(rawPath);
        if (status == 404 && method == "GET" && path.StartsWith("/v1/kv/", StringComparison.Ordinal))
        {
            return null;
        }

        var text = response.BodyText.Trim();
        if (text.Length == 0 && status == 400 && rawPath.Contains("%00", StringComparison.Ordinal) && response.Header("X-Consul-Default-ACL-Policy") is null)
        {
            // Kestrel itself refuses a percent-encoded NUL in the path, before any application code runs (no agent
            // header on the answer); the agent cannot add a message there.
            return null;
        }

        if (text.Length == 0)
        {
            return $"{status} with an empty body ({response.StatusLine})";
        }

        if (status == 409 && path == "/v1/txn")
        {
            return null;
        }

        return text.Contains('\n') ? $"{status} with a multi-line body: {Show(response)}" : null;
    }

    /// <summary>Null when the agent still answers /v1/status/leader and a KV write-then-read; else what failed.</summary>
    internal static async Task<string?> HealthProblemAsync(AgentProcess agent)
    {
        if (agent.Process.HasExited)
        {
            return $"the agent process exited with {agent.Process.ExitCode}";
        }

        try
        {
            using var http = new HttpClient { BaseAddress = agent.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
            var leader = await http.GetAsync("v1/status/leader");
            var leaderText = await leader.Content.ReadAsStringAsync();
            if (leader.StatusCode != HttpStatusCode.OK || leaderText.Trim().Length < 3)
            {
                return $"GET /v1/status/leader -> {(int)leader.StatusCode} {leaderText}";
            }

            var value = $"still-alive-{Guid.NewGuid():N}";
            var put = await http.PutAsync("v1/kv/robustness/after", new StringContent(value));
            var putText = await put.Content.ReadAsStringAsync();
            if (put.StatusCode != HttpStatusCode.OK || putText.Trim() != "true")
            {
                return $"PUT /v1/kv/robustness/after -> {(int)put.StatusCode} {putText}";
            }

            var get = await http.GetAsync("v1/kv/robustness/after?raw");
            var getText = await get.Content.ReadAsStringAsync();
            return get.StatusCode == HttpStatusCode.OK && getText == value
                ? null
                : $"GET /v1/kv/robustness/after?raw -> {(int)get.StatusCode} {getText} (wrote {value})";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return $"the HTTP API no longer answers: {ex.Message}";
        }
    }

    private sealed record KnownCase(string Method, string Target, byte[]? Body, int[] Allowed, string Why, bool OkMustBeFalse = false);

    /// <summary>RFC 3986 §5.2.4, as the server applies it to the path before routing.</summary>
    internal static string RemoveDotSegments(string path)
    {
        var output = new List<string>();
        var segments = path.Split('/');
        for (var i = 1; i < segments.Length; i++)
        {
            var segment = segments[i];
            var last = i == segments.Length - 1;
            if (segment == ".")
            {
                if (last)
                {
                    output.Add("");
                }
            }
            else if (segment == "..")
            {
                if (output.Count > 0)
                {
                    output.RemoveAt(output.Count - 1);
                }

                if (last)
                {
                    output.Add("");
                }
            }
            else
            {
                output.Add(segment);
            }
        }

        return "/" + string.Join('/', output);
    }

    private static string Show(RawHttpResponse r) =>
        $"{r.StatusLine} body={FuzzRequest.Escape(r.Body, 200)}" + (r.Error is null ? "" : $" ({r.Error})");

    private static string Shorten(string s) => s.Length <= 160 ? s : s[..160] + $"...({s.Length} chars)";

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    private static byte[] RandomBytes(Random r, int length)
    {
        var bytes = new byte[length];
        r.NextBytes(bytes);
        return bytes;
    }
}
