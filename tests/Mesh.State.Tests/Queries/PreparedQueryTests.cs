using System.Collections.Immutable;
using Mesh.State.Commands;
using Mesh.State.Queries;
using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State.Tests.Queries;

public class PreparedQueryTests
{
    private static PreparedQuery Query(string name = "", string service = "web", string session = "", string? template = null,
        string regexp = "", string[]? tags = null, bool removeEmptyTags = false) => new()
    {
        ID = Guid.NewGuid().ToString(),
        Name = name,
        Session = session,
        Template = new QueryTemplateOptions { Type = template ?? "", Regexp = regexp, RemoveEmptyTags = removeEmptyTags },
        Service = new ServiceQuery { Service = service, Tags = [.. tags ?? []] },
    };

    private static PreparedQuery Created(StoreFixture f, PreparedQuery q)
    {
        var r = f.Apply(new PreparedQueryCreateCommand(q));
        Assert.True(r.Ok, r.Error);
        return f.Store.View().PreparedQueryGet(q.ID).Query!;
    }

    private static string? Error(StoreFixture f, Command c) => f.Apply(c).Error;

    [Fact]
    public void Create_ThenGetAndList_StoresTheRowAtTheLogIndex()
    {
        var f = new StoreFixture();
        var q = Created(f, Query("my-query") with { Token = "t", DNS = new QueryDnsOptions { TTL = "10s" } });
        var view = f.Store.View();
        Assert.Equal((f.Store.Index, f.Store.Index), (q.CreateIndex, q.ModifyIndex));
        Assert.Equal(("my-query", "web", "t", "10s"), (q.Name, q.Service.Service, q.Token, q.DNS.TTL));
        Assert.Equal(f.Store.Index, view.PreparedQueryList().Index);
        Assert.Equal([q.ID], view.PreparedQueryList().Queries.Select(x => x.ID));
        Assert.Equal(q.ID, view.PreparedQueryGet(q.ID.ToUpperInvariant()).Query!.ID);
    }

    [Fact]
    public void Create_NameTakenInAnotherCase_IsRefused()
    {
        var f = new StoreFixture();
        Created(f, Query("Web-Query"));
        Assert.Equal("name 'web-query' aliases an existing query name", Error(f, new PreparedQueryCreateCommand(Query("web-query"))));
        Assert.Single(f.Store.View().PreparedQueryList().Queries);
    }

    [Fact]
    public void Create_NameEqualToAnotherQuerysId_IsRefused()
    {
        var f = new StoreFixture();
        var first = Created(f, Query("first"));
        Assert.Equal($"name '{first.ID.ToUpperInvariant()}' aliases an existing query ID",
            Error(f, new PreparedQueryCreateCommand(Query(first.ID.ToUpperInvariant()))));
    }

    [Fact]
    public void Create_SecondCatchAllTemplate_IsRefused()
    {
        var f = new StoreFixture();
        Created(f, Query("", "${name.full}", template: QueryTemplateOptions.NamePrefixMatch));
        Assert.Equal("a query template with an empty name already exists",
            Error(f, new PreparedQueryCreateCommand(Query("", "x", template: QueryTemplateOptions.NamePrefixMatch))));
    }

    [Fact]
    public void Create_UnknownSession_IsRefused()
    {
        var f = new StoreFixture();
        Assert.Equal("invalid session \"nope\"", Error(f, new PreparedQueryCreateCommand(Query("q", session: "nope"))));
    }

    [Theory]
    [InlineData("other_type", "", "web", "failed compiling template: Bad Template.Type 'other_type'")]
    [InlineData("name_prefix_match", "(", "web", "failed compiling template: Bad Regexp:")]
    [InlineData("name_prefix_match", "", "${name.full", "failed compiling template: Bad format '${name.full' in Service.Service")]
    [InlineData("name_prefix_match", "", "${nope}", "failed compiling template: Bad evaluation for '${nope}' in Service.Service: unknown variable accessed: nope")]
    [InlineData("name_prefix_match", "", "${match(\"x\")}", "failed compiling template: Bad format")]
    [InlineData("name_prefix_match", "", "${1 + 2}", "failed compiling template: Bad format")]
    public void Create_TemplateThatDoesNotCompile_IsRefused(string type, string regexp, string service, string expected)
    {
        var f = new StoreFixture();
        var error = Error(f, new PreparedQueryCreateCommand(Query("t", service, template: type, regexp: regexp)));
        Assert.StartsWith(expected, error);
        Assert.Empty(f.Store.View().PreparedQueryList().Queries);
    }

    [Fact]
    public void Create_StaticQueryWithInterpolationSyntax_IsStoredAsWritten()
    {
        // Only templates are interpolated: a static query's strings are plain text, whatever they contain.
        var f = new StoreFixture();
        var q = Created(f, Query("static", "${nope"));
        Assert.Equal("${nope", f.Store.View().PreparedQueryResolve("static").Query!.Service.Service);
        Assert.Equal(q.ID, f.Store.View().PreparedQueryResolve(q.ID).Query!.ID);
    }

    [Fact]
    public void Update_Missing_IsRefusedWithConsulsMessage()
    {
        var f = new StoreFixture();
        var q = Query("ghost");
        Assert.Equal($"Cannot modify non-existent prepared query: '{q.ID}'", Error(f, new PreparedQueryUpdateCommand(q)));
        Assert.Equal($"Cannot modify non-existent prepared query: '{q.ID}'", Error(f, new PreparedQueryDeleteCommand(q.ID)));
    }

    [Fact]
    public void Update_Rename_KeepsCreateIndexAndFreesTheOldName()
    {
        var f = new StoreFixture();
        var q = Created(f, Query("old"));
        Assert.True(f.Apply(new PreparedQueryUpdateCommand(q with { Name = "new" })).Ok);
        var updated = f.Store.View().PreparedQueryGet(q.ID).Query!;
        Assert.Equal((q.CreateIndex, f.Store.Index, "new"), (updated.CreateIndex, updated.ModifyIndex, updated.Name));
        Assert.Null(f.Store.View().PreparedQueryResolve("old").Query);
        Created(f, Query("old"));
    }

    [Fact]
    public void Update_SameContent_MovesNoIndex()
    {
        var f = new StoreFixture();
        var q = Created(f, Query("same", tags: ["a", "!b"]) with { Service = new ServiceQuery { Service = "web", NodeMeta = ImmutableDictionary<string, string>.Empty.Add("k", "v") } });
        var before = f.Store.View().TableIndex(TableNames.PreparedQueries);
        Assert.True(f.Apply(new PreparedQueryUpdateCommand(q with { Service = q.Service with { Tags = [.. q.Service.Tags] } })).Ok);
        Assert.Equal(before, f.Store.View().TableIndex(TableNames.PreparedQueries));
        Assert.Equal(q.ModifyIndex, f.Store.View().PreparedQueryGet(q.ID).Query!.ModifyIndex);
    }

    [Fact]
    public void Delete_Existing_RemovesItAndMovesTheTableIndex()
    {
        var f = new StoreFixture();
        var q = Created(f, Query("gone"));
        Assert.True(f.Apply(new PreparedQueryDeleteCommand(q.ID)).Ok);
        var view = f.Store.View();
        Assert.Null(view.PreparedQueryGet(q.ID).Query);
        Assert.Null(view.PreparedQueryResolve("gone").Query);
        Assert.Equal(f.Store.Index, view.TableIndex(TableNames.PreparedQueries));
    }

    [Fact]
    public void SessionDestroy_DeletesTheQueriesTiedToIt()
    {
        var f = new StoreFixture();
        var s = f.CreateSession();
        var tied = Created(f, Query("tied", session: s));
        var free = Created(f, Query("free"));
        Assert.True(f.Apply(new SessionDestroyCommand(s)).Ok);
        Assert.Null(f.Store.View().PreparedQueryGet(tied.ID).Query);
        Assert.NotNull(f.Store.View().PreparedQueryGet(free.ID).Query);
        // The name is free again.
        Created(f, Query("tied"));
    }

    [Fact]
    public void SessionInvalidatedByCriticalCheck_DeletesTheQueriesTiedToIt()
    {
        var f = new StoreFixture();
        var s = f.CreateSession();
        var tied = Created(f, Query("tied", session: s));
        f.Apply(new RegisterNodeCommand(new Node { Name = "n1", Address = "127.0.0.1" },
            [new HealthCheck { Node = "n1", CheckID = "serfHealth", Status = HealthStatus.Critical }]));
        Assert.Null(f.Store.View().SessionGet(s).Session);
        Assert.Null(f.Store.View().PreparedQueryGet(tied.ID).Query);
    }

    [Fact]
    public void Update_MovingToAnotherSession_OnlyTheNewSessionDeletesIt()
    {
        var f = new StoreFixture();
        var (s1, s2) = (f.CreateSession(), f.CreateSession());
        var q = Created(f, Query("moving", session: s1));
        Assert.True(f.Apply(new PreparedQueryUpdateCommand(q with { Session = s2 })).Ok);
        f.Apply(new SessionDestroyCommand(s1));
        Assert.NotNull(f.Store.View().PreparedQueryGet(q.ID).Query);
        f.Apply(new SessionDestroyCommand(s2));
        Assert.Null(f.Store.View().PreparedQueryGet(q.ID).Query);
    }

    [Fact]
    public void Resolve_ByIdThenNameThenLongestTemplatePrefix_CatchAllLast()
    {
        var f = new StoreFixture();
        var exact = Created(f, Query("geo-db-exact", "exact"));
        Created(f, Query("geo", "short-${name.suffix}", template: QueryTemplateOptions.NamePrefixMatch));
        Created(f, Query("geo-db", "long-${name.suffix}", template: QueryTemplateOptions.NamePrefixMatch));
        Created(f, Query("", "any-${name.full}", template: QueryTemplateOptions.NamePrefixMatch));
        var view = f.Store.View();
        string? Service(string name) => view.PreparedQueryResolve(name).Query?.Service.Service;
        Assert.Equal("exact", Service(exact.ID));
        Assert.Equal("exact", Service("GEO-DB-EXACT"));
        Assert.Equal("long--x", Service("geo-db-x"));
        Assert.Equal("long-", Service("geo-db"));
        Assert.Equal("short-graphy", Service("geography"));
        // Prefixes match regardless of case; the suffix is cut by the template's name as written.
        Assert.Equal("long-GEO-DB-X", Service("GEO-DB-X"));
        Assert.Equal("any-redis", Service("redis"));
    }

    [Fact]
    public void Resolve_NothingMatches_ReturnsNull()
    {
        var f = new StoreFixture();
        Created(f, Query("geo", template: QueryTemplateOptions.NamePrefixMatch));
        Assert.Null(f.Store.View().PreparedQueryResolve("web").Query);
        Assert.Null(f.Store.View().PreparedQueryResolve("").Query);
        Assert.Null(f.Store.View().PreparedQueryResolve(Guid.NewGuid().ToString()).Query);
    }

    [Fact]
    public void Resolve_TemplateById_ThrowsConsulsError()
    {
        var f = new StoreFixture();
        var t = Created(f, Query("geo", template: QueryTemplateOptions.NamePrefixMatch));
        var ex = Assert.Throws<PreparedQueryException>(() => f.Store.View().PreparedQueryResolve(t.ID));
        Assert.Equal("prepared query templates can only be resolved up by name, not by ID", ex.Message);
    }

    [Fact]
    public void Resolve_Template_InterpolatesEveryStringOfTheServiceBlock()
    {
        var f = new StoreFixture();
        var template = Query("geo-db", template: QueryTemplateOptions.NamePrefixMatch, regexp: "^geo-db-(.*?)-([^\\-]+?)$") with
        {
            Service = new ServiceQuery
            {
                Service = "mysql-${match(1)}",
                Tags = ["${match(2)}", "${match(7)}", "$${literal}"],
                Near = "${name.prefix}",
                IgnoreCheckIDs = ["${name.suffix}"],
                NodeMeta = ImmutableDictionary<string, string>.Empty.Add("zone", "${match(0)}"),
                ServiceMeta = ImmutableDictionary<string, string>.Empty.Add("seg", "[${agent.segment}]"),
                Failover = new QueryFailover
                {
                    Datacenters = ["${ match( 1 ) }"],
                    Targets = [new QueryFailoverTarget { Peer = "${name.full}", Datacenter = "dc-${match(-1)}" }],
                },
            },
        };
        Created(f, template);
        var q = f.Store.View().PreparedQueryResolve("geo-db-customer-primary").Query!;
        Assert.Equal("mysql-customer", q.Service.Service);
        Assert.Equal<string>(["primary", "", "${literal}"], q.Service.Tags);
        Assert.Equal("geo-db", q.Service.Near);
        Assert.Equal<string>(["-customer-primary"], q.Service.IgnoreCheckIDs);
        Assert.Equal("geo-db-customer-primary", q.Service.NodeMeta["zone"]);
        Assert.Equal("[]", q.Service.ServiceMeta["seg"]);
        Assert.Equal<string>(["customer"], q.Service.Failover.Datacenters);
        Assert.Equal(new QueryFailoverTarget { Peer = "geo-db-customer-primary", Datacenter = "dc-" }, q.Service.Failover.Targets[0]);
        Assert.Equal("geo-db", q.Name);
        // A name the regexp does not match renders every match() empty.
        Assert.Equal("mysql-", f.Store.View().PreparedQueryResolve("geo-db").Query!.Service.Service);
    }

    [Fact]
    public void Resolve_TemplateWithRemoveEmptyTags_DropsTagsThatRenderEmpty()
    {
        var f = new StoreFixture();
        Created(f, Query("web-", "web", template: QueryTemplateOptions.NamePrefixMatch, regexp: "^web-(v\\d+)?", tags: ["${match(1)}", "live"], removeEmptyTags: true));
        Assert.Equal<string>(["v2", "live"], f.Store.View().PreparedQueryResolve("web-v2").Query!.Service.Tags);
        Assert.Equal<string>(["live"], f.Store.View().PreparedQueryResolve("web-x").Query!.Service.Tags);
    }

    [Theory]
    [InlineData("^(?P<db>[a-z]+)-(x)$", "^([a-z]+)-(x)$")]
    [InlineData("(?<a>1)(2)", "(1)(2)")]
    [InlineData("\\(?P<a>[(?P<b>]", "\\(?P<a>[(?P<b>]")]
    [InlineData("(?<=a)b[]x]", "(?<=a)b[]x]")]
    [InlineData("[[:alpha:]_][[:digit:][:punct:]]", "[A-Za-z_][0-9!-/:-@\\[-\\x60{-~]")]
    [InlineData("[[:nope:]]", "[[:nope:]]")]
    [InlineData("\\pL+\\PN\\p{Greek}", "\\p{L}+\\P{N}\\p{Greek}")]
    [InlineData("a\\Q.*(\\Eb\\Q+", "a\\.\\*\\(b\\+")]
    public void FromRe2_Re2Spellings_BecomeDotNets(string re2, string expected)
    {
        Assert.Equal(expected, QueryTemplate.FromRe2(re2));
    }

    [Theory]
    [InlineData("^svc-([[:alpha:]]+)[[:digit:]]*$", "svc-web42", "web")]
    [InlineData("^svc-(\\pL+)", "svc-données-1", "données")]
    [InlineData("^\\Qsvc.\\E(.*)$", "svc.api", "api")]
    [InlineData("^\\Qsvc.\\E(.*)$", "svcXapi", "")]
    public void Resolve_RegexpInRe2Syntax_MatchesAsGoWould(string regexp, string name, string group)
    {
        var f = new StoreFixture();
        Created(f, Query("svc", "${match(1)}", template: QueryTemplateOptions.NamePrefixMatch, regexp: regexp));
        Assert.Equal(group, f.Store.View().PreparedQueryResolve(name).Query!.Service.Service);
    }

    [Fact]
    public void Resolve_RegexpWithNamedGroups_NumbersGroupsAsRe2Does()
    {
        var f = new StoreFixture();
        Created(f, Query("db-", "${match(1)}/${match(2)}", template: QueryTemplateOptions.NamePrefixMatch, regexp: "^db-(?P<name>[a-z]+)-([0-9]+)$"));
        Assert.Equal("orders/7", f.Store.View().PreparedQueryResolve("db-orders-7").Query!.Service.Service);
    }

    [Fact]
    public async Task List_Watched_WakesOnCreate()
    {
        var f = new StoreFixture();
        using var ws = new WatchSet(f.Store.Watches);
        f.Store.View().PreparedQueryList(ws);
        var wait = ws.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        Created(f, Query("watched"));
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Snapshot_RoundTrip_RestoresQueriesTemplatesAndSessionTies()
    {
        var f = new StoreFixture();
        var s = f.CreateSession();
        var tied = Created(f, Query("tied", session: s));
        Created(f, Query("geo", "db-${name.suffix}", template: QueryTemplateOptions.NamePrefixMatch, regexp: "^geo(.*)$"));
        using var ms = new MemoryStream();
        f.Fsm.WriteSnapshot(ms);
        var g = new StoreFixture();
        ms.Position = 0;
        g.Log.Restore(ms, f.Store.Index);

        var (a, b) = (f.Store.View(), g.Store.View());
        Assert.Equal(a.TableIndex(TableNames.PreparedQueries), b.TableIndex(TableNames.PreparedQueries));
        Assert.Equal(a.PreparedQueryList().Queries.Select(q => (q.ID, q.Name, q.CreateIndex, q.ModifyIndex)),
            b.PreparedQueryList().Queries.Select(q => (q.ID, q.Name, q.CreateIndex, q.ModifyIndex)));
        Assert.Equal("db--east", b.PreparedQueryResolve("geo-east").Query!.Service.Service);
        Assert.Equal(tied.ID, b.PreparedQueryResolve("TIED").Query!.ID);
        Assert.Equal("name 'Tied' aliases an existing query name", Error(g, new PreparedQueryCreateCommand(Query("Tied"))));
        g.Apply(new SessionDestroyCommand(s));
        Assert.Null(g.Store.View().PreparedQueryGet(tied.ID).Query);
    }

    [Fact]
    public void Restore_VersionOneSnapshot_ReadsWithNoQueries()
    {
        // A snapshot written before prepared queries existed (format 1) still restores.
        const string v1 = """
            {"Version":1,"Index":7,"TableIndexes":{"kvs":7},"Kv":[{"Key":"a","Flags":0,"Value":"eA==","LockIndex":0,"CreateIndex":7,"ModifyIndex":7}],
             "Tombstones":[],"Sessions":[],"Nodes":[{"ID":"","Name":"n1","Address":"127.0.0.1","Datacenter":"","TaggedAddresses":{},"Meta":{},"CreateIndex":1,"ModifyIndex":1}],
             "Checks":[],"Services":[]}
            """;
        var f = new StoreFixture();
        f.Fsm.Restore(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(v1)));
        Assert.Equal("x", StoreFixture.Text(f.Get("a")));
        Assert.Empty(f.Store.View().PreparedQueryList().Queries);
        Assert.Equal(7UL, f.Store.Index);
    }

    [Fact]
    public void Restore_NewerVersion_IsRefused()
    {
        var f = new StoreFixture();
        var ex = Assert.Throws<InvalidDataException>(() => f.Fsm.Restore(new MemoryStream("""{"Version":5,"Index":1,"TableIndexes":{},"Kv":[],"Tombstones":[],"Sessions":[],"Nodes":[],"Checks":[]}"""u8.ToArray())));
        Assert.Contains("unsupported snapshot version 5", ex.Message);
    }
}
