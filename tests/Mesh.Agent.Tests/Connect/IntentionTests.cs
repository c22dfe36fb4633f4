using Mesh.Agent.Connect;
using Mesh.Ca.Identity;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;

namespace Mesh.Agent.Tests.Connect;

/// <summary>Intention semantics: precedence, ordering, matching, decisions and L7 permissions.</summary>
public sealed class IntentionTests
{
    private static IntentionSet Set(params string[] entries) =>
        new(entries.Select(json => ((ServiceIntentionsEntry)ChainCompilerTests.Entry(json), 1UL, 1UL)));

    [Theory]
    [InlineData("web", "db", 9)]
    [InlineData("*", "db", 8)]
    [InlineData("web", "*", 6)]
    [InlineData("*", "*", 5)]
    public void Precedence_ExactBeatsWildcard(string source, string destination, int expected) =>
        Assert.Equal(expected, Precedence.Of(source, destination));

    // Every pair of (exact | wildcard) source and destination, present or not: the most exact present one decides.
    public static TheoryData<bool, bool, bool, bool, string> Pairs()
    {
        var data = new TheoryData<bool, bool, bool, bool, string>();
        for (var mask = 0; mask < 16; mask++)
        {
            bool ee = (mask & 1) != 0, we = (mask & 2) != 0, ew = (mask & 4) != 0, ww = (mask & 8) != 0;
            var winner = ee ? "web=>db" : we ? "*=>db" : ew ? "web=>*" : ww ? "*=>*" : "none";
            data.Add(ee, we, ew, ww, winner);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Decide_EveryCombinationOfExactAndWildcard_MostExactWins(bool exact, bool anySource, bool anyDestination, bool both, string winner)
    {
        var entries = new List<string>();
        var db = new List<string>();
        if (exact) db.Add("""{"Name":"web","Action":"allow"}""");
        if (anySource) db.Add("""{"Name":"*","Action":"deny"}""");
        if (db.Count > 0) entries.Add($$"""{"Kind":"service-intentions","Name":"db","Sources":[{{string.Join(',', db)}}]}""");
        var star = new List<string>();
        if (anyDestination) star.Add("""{"Name":"web","Action":"deny"}""");
        if (both) star.Add("""{"Name":"*","Action":"allow"}""");
        if (star.Count > 0) entries.Add($$"""{"Kind":"service-intentions","Name":"*","Sources":[{{string.Join(',', star)}}]}""");
        var decided = Set([.. entries]).Decide("web", "db");
        Assert.Equal(winner, decided is null ? "none" : $"{decided.Source}=>{decided.Destination}");
    }

    [Fact]
    public void All_SortedByPrecedenceThenNames_DenyFirstOnTies()
    {
        var set = Set(
            """{"Kind":"service-intentions","Name":"*","Sources":[{"Name":"*","Action":"allow"},{"Name":"api","Action":"allow"}]}""",
            """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"*","Action":"deny"},{"Name":"api","Action":"deny"}]}""");
        Assert.Equal(["api=>db", "web=>db", "*=>db", "api=>*", "*=>*"], set.All.Select(r => $"{r.Source}=>{r.Destination}"));
        Assert.Equal([9, 9, 8, 6, 5], set.All.Select(r => r.Precedence));
    }

    [Fact]
    public void Match_ByDestinationAndBySource_IncludeWildcards()
    {
        var set = Set(
            """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"*","Action":"deny"}]}""",
            """{"Kind":"service-intentions","Name":"cache","Sources":[{"Name":"web","Action":"allow"}]}""",
            """{"Kind":"service-intentions","Name":"*","Sources":[{"Name":"web","Action":"deny"}]}""");
        Assert.Equal(["web=>db", "*=>db", "web=>*"], set.Match("db", byDestination: true).Select(r => $"{r.Source}=>{r.Destination}"));
        Assert.Equal(["web=>cache", "web=>db", "*=>db", "web=>*"], set.Match("web", byDestination: false).Select(r => $"{r.Source}=>{r.Destination}"));
    }

    [Theory]
    [InlineData("/admin/x", "GET", "x-role", "ops", "deny")]
    [InlineData("/api/v1", "POST", "x-role", "ops", "allow")]
    [InlineData("/api/v1", "DELETE", "x-role", "ops", null)]
    [InlineData("/health", "GET", "x-role", "ops", null)]
    [InlineData("/health", "GET", "x-debug", "1", "deny")]
    [InlineData("/v2/items/42", "GET", "x-role", "guest", "allow")]
    [InlineData("/v2/items/abc", "GET", "x-role", "guest", null)]
    public void L7_FirstMatchingPermissionWins_NoneMeansDefault(string path, string method, string header, string value, string? expected)
    {
        var entry = (ServiceIntentionsEntry)ChainCompilerTests.Entry("""
            {"Kind":"service-intentions","Name":"api","Sources":[{"Name":"web","Permissions":[
              {"Action":"deny","HTTP":{"PathPrefix":"/admin"}},
              {"Action":"deny","HTTP":{"Header":[{"Name":"X-Debug","Present":true}]}},
              {"Action":"allow","HTTP":{"PathPrefix":"/api","Methods":["GET","POST"],"Header":[{"Name":"x-role","Regex":"ops|dev"}]}},
              {"Action":"allow","HTTP":{"PathRegex":"/v2/items/[0-9]+","Header":[{"Name":"x-role","Exact":"ops","Invert":true}]}}]}]}
            """);
        var request = new HttpRequestInfo(path, method, new Dictionary<string, string> { [header] = value });
        Assert.Equal(expected, L7Permissions.Evaluate(entry.Sources![0].Permissions!, request));
    }

    [Fact]
    public void Authorizer_L4AllowDeny_L7CountsAsDeny_DefaultPolicy()
    {
        var store = new Mesh.State.StateStore();
        var view = store.View();
        Assert.Equal(new AuthorizeDecision(true, "Default behavior configured by ACLs"),
            new IntentionAuthorizer("").Authorize(view, SpiffeId.Service("td", "dc1", "web"), "db"));
        Assert.Equal(new AuthorizeDecision(false, "Default intention policy"),
            new IntentionAuthorizer("deny").Authorize(view, SpiffeId.Service("td", "dc1", "web"), "db"));
        var set = Set("""{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"deny"},{"Name":"api","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}]}""");
        Assert.Equal("default/web => default/db (Precedence: 9, Action: DENY)", set.Decide("web", "db")!.ToString());
        Assert.True(set.Decide("api", "db")!.IsL7);
    }
}
