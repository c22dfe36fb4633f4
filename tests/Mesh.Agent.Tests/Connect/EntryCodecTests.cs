using System.Text.Json;
using Mesh.Connect.Entries;

namespace Mesh.Agent.Tests.Connect;

public sealed class EntryCodecTests
{
    private static ConfigEntry Read(string json) => EntryCodec.Read(JsonDocument.Parse(json).RootElement);

    private static string Write(ConfigEntry e)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) EntryCodec.Write(w, e, 3, 4);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    [Fact]
    public void Read_PascalCase_EveryKind_RoundTrips()
    {
        string[] entries =
        [
            """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""",
            """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http","envoy_tracing_json":"{}"}}""",
            """{"Kind":"service-resolver","Name":"web","DefaultSubset":"v1","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2","OnlyPassing":true}},"ConnectTimeout":"15s","Failover":{"*":{"Datacenters":["dc2"]}}}""",
            """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":90,"ServiceSubset":"v1"},{"Weight":10,"ServiceSubset":"v2","RequestHeaders":{"Set":{"x-canary":"1"}}}]}""",
            """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin","Header":[{"Name":"x-debug","Present":true}]}},"Destination":{"Service":"admin","RequestTimeout":"2s","NumRetries":3}}]}""",
            """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"*","Permissions":[{"Action":"deny","HTTP":{"PathPrefix":"/x","Methods":["POST"]}}]}]}""",
        ];
        foreach (var json in entries)
        {
            var entry = Read(json);
            var written = Write(entry);
            var again = Read(written);
            Assert.Equal(EntryCodec.ToJson(entry), EntryCodec.ToJson(again));
            Assert.Contains("\"CreateIndex\":3", written);
            Assert.StartsWith($"{{\"Kind\":\"{entry.Kind}\"", written);
        }
    }

    [Fact]
    public void Read_SnakeCase_AsConfigFilesWriteIt_MapsKeysKept()
    {
        var e = (ServiceResolverEntry)Read("""{"kind":"service-resolver","name":"web","default_subset":"v1","connect_timeout":"5s","subsets":{"v1_a":{"filter":"Service.Meta.v == 1","only_passing":true}},"meta":{"owner_team":"x"}}""");
        Assert.Equal("v1", e.DefaultSubset);
        Assert.Equal(TimeSpan.FromSeconds(5), e.ConnectTimeout);
        Assert.True(e.Subsets!["v1_a"].OnlyPassing);
        Assert.Equal("x", e.Meta!["owner_team"]);
        var p = (ProxyDefaultsEntry)Read("""{"Kind":"proxy-defaults","Name":"global","config":{"local_connect_timeout_ms":1000}}""");
        Assert.Equal(1000, p.Config!["local_connect_timeout_ms"].GetInt32());
    }

    [Theory]
    [InlineData("""{"Name":"web"}""", "Kind is required")]
    [InlineData("""{"Kind":"bogus","Name":"web"}""", "invalid config entry kind: bogus")]
    [InlineData("""{"Kind":"service-defaults","Name":"web","Protocl":"http"}""", "Protocl")]
    [InlineData("""{"Kind":"service-resolver","Name":"web","ConnectTimeout":"soon"}""", "ConnectTimeout")]
    [InlineData("""{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":"ninety"}]}""", "Splits[0].Weight")]
    [InlineData("""[1]""", "JSON object")]
    public void Read_Invalid_NamesTheProblem(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ConfigEntryException>(() => Read(json)).Message);
}
