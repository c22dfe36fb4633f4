using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.Listeners.ListenerFixtures;

namespace Mesh.Xds.Tests.Resources.Listeners;

/// <summary>
/// Over random intention sets, Envoy deciding with the rendered RBAC agrees with Mesh's own decision
/// (<see cref="IntentionSet.Decide"/>, then <see cref="L7Permissions.Evaluate"/> for L7 intentions, else the default):
/// the flattening keeps the meaning, not just a golden shape.
/// </summary>
public sealed class RbacPropertyTests
{
    private const string Destination = "db";
    private const int Cases = 400;

    private static readonly string[] Sources = ["web", "api", "ops", "*"];
    private static readonly string[] Callers = ["web", "api", "ops", "other"];
    private static readonly string[] Destinations = [Destination, "*"];

    private static readonly HttpRequestInfo[] Requests =
    [
        .. from path in new[] { "/a", "/a/b", "/b", "/c12", "/z" }
           from method in new[] { "GET", "POST", "PUT" }
           from header in new[] { "", "1", "p2", "zz" }
           select new HttpRequestInfo(path, method, header.Length == 0 ? new Dictionary<string, string>() : new() { ["x-h"] = header }),
    ];

    [Fact]
    public void Network_RandomIntentions_EnvoyDecidesAsIntentionSet()
    {
        var random = new Random(20240611);
        for (var n = 0; n < Cases; n++)
        {
            var (rules, defaultAllow) = RandomCase(random);
            var rbac = RbacBuilder.Rules(rules, defaultAllow, http: false);
            var set = SetOf(rules);
            foreach (var caller in Callers)
            {
                var match = set.Decide(caller, Destination);
                var expected = match is null ? defaultAllow : !match.IsL7 && match.Action == "allow";
                var actual = RbacEvaluator.Allows(rbac, SpiffeId(caller), null);
                Assert.True(expected == actual, $"case {n}, caller {caller}: intentions decide {expected}, Envoy {actual}\n{Describe(rules, defaultAllow)}");
            }
        }
    }

    [Fact]
    public void Http_RandomIntentions_EnvoyDecidesAsIntentionSetAndL7Permissions()
    {
        var random = new Random(7);
        for (var n = 0; n < Cases; n++)
        {
            var (rules, defaultAllow) = RandomCase(random);
            var rbac = RbacBuilder.Rules(rules, defaultAllow, http: true);
            var set = SetOf(rules);
            foreach (var caller in Callers)
            {
                var match = set.Decide(caller, Destination);
                foreach (var request in Requests)
                {
                    var expected = match switch
                    {
                        null => defaultAllow,
                        { IsL7: true } => L7Permissions.Evaluate(match.Permissions, request) is { } action ? action == "allow" : defaultAllow,
                        _ => match.Action == "allow",
                    };
                    var actual = RbacEvaluator.Allows(rbac, SpiffeId(caller), request);
                    Assert.True(expected == actual,
                        $"case {n}, caller {caller}, {request.Method} {request.Path} x-h={request.Headers.GetValueOrDefault("x-h")}: " +
                        $"intentions decide {expected}, Envoy {actual}\n{Describe(rules, defaultAllow)}");
                }
            }
        }
    }

    /// <summary>Some of the sixteen (source, destination) pairs, each L4 or L7, and a default policy.</summary>
    private static (IReadOnlyList<IntentionRule> Rules, bool DefaultAllow) RandomCase(Random random)
    {
        var rules = new List<IntentionRule>();
        foreach (var destination in Destinations)
            foreach (var source in Sources)
            {
                if (random.NextDouble() > 0.45) continue;
                rules.Add(random.NextDouble() < 0.3
                    ? L7(source, destination, [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomPermission(random))])
                    : Rule(source, destination, random.Next(2) == 0 ? "allow" : "deny"));
            }
        return (Sorted([.. rules]), random.Next(2) == 0);
    }

    private static IntentionPermission RandomPermission(Random random)
    {
        var action = random.Next(2) == 0 ? "allow" : "deny";
        if (random.NextDouble() < 0.1) return Permission(action, null);
        var match = random.Next(4) switch
        {
            0 => new IntentionHttpMatch { PathExact = "/a" },
            1 => new IntentionHttpMatch { PathPrefix = random.Next(2) == 0 ? "/a" : "/b" },
            2 => new IntentionHttpMatch { PathRegex = "/c[0-9]+" },
            _ => new IntentionHttpMatch(),
        };
        if (random.Next(3) == 0) match = match with { Methods = random.Next(2) == 0 ? ["GET"] : ["GET", "POST"] };
        if (random.Next(3) == 0)
        {
            var header = random.Next(4) switch
            {
                0 => new HeaderMatch { Name = "x-h", Present = true },
                1 => new HeaderMatch { Name = "x-h", Exact = "1" },
                2 => new HeaderMatch { Name = "x-h", Prefix = "p" },
                _ => new HeaderMatch { Name = "x-h", Regex = "[0-9]+" },
            };
            match = match with { Header = [header with { Invert = random.Next(2) == 0 }] };
        }
        return Permission(action, match);
    }

    private static IntentionSet SetOf(IReadOnlyList<IntentionRule> rules) =>
        new(rules.GroupBy(r => r.Destination).Select(g => (IReadOnlyList<IntentionRule>)Sorted([.. g])));

    private static string Describe(IReadOnlyList<IntentionRule> rules, bool defaultAllow) =>
        $"default {(defaultAllow ? "allow" : "deny")}\n" + string.Join("\n", rules.Select(r => r.IsL7
            ? $"{r} " + string.Join("; ", r.Permissions.Select(p => $"{p.Action} {System.Text.Json.JsonSerializer.Serialize(p.HTTP)}"))
            : r.ToString()));
}
