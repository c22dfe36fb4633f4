using System.Collections.Immutable;
using System.Text.Json;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

/// <summary>Prepared queries in Consul's JSON shape and field order (empty lists and maps are <c>null</c>, as Go writes nil ones).</summary>
internal static class QueryJson
{
    public static void Query(Utf8JsonWriter w, PreparedQuery q)
    {
        w.WriteStartObject();
        w.WriteString("ID", q.ID);
        w.WriteString("Name", q.Name);
        w.WriteString("Session", q.Session);
        w.WriteString("Token", q.Token);
        w.WriteStartObject("Template");
        w.WriteString("Type", q.Template.Type);
        w.WriteString("Regexp", q.Template.Regexp);
        w.WriteBoolean("RemoveEmptyTags", q.Template.RemoveEmptyTags);
        w.WriteEndObject();
        var s = q.Service;
        w.WriteStartObject("Service");
        w.WriteString("Service", s.Service);
        w.WriteStartObject("Failover");
        w.WriteNumber("NearestN", s.Failover.NearestN);
        Strings(w, "Datacenters", s.Failover.Datacenters);
        if (s.Failover.Targets.IsDefaultOrEmpty) w.WriteNull("Targets");
        else
        {
            w.WriteStartArray("Targets");
            foreach (var t in s.Failover.Targets)
            {
                w.WriteStartObject();
                w.WriteString("Peer", t.Peer);
                w.WriteString("Datacenter", t.Datacenter);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteBoolean("OnlyPassing", s.OnlyPassing);
        Strings(w, "IgnoreCheckIDs", s.IgnoreCheckIDs);
        w.WriteString("Near", s.Near);
        Strings(w, "Tags", s.Tags);
        Map(w, "NodeMeta", s.NodeMeta);
        Map(w, "ServiceMeta", s.ServiceMeta);
        w.WriteBoolean("Connect", s.Connect);
        w.WriteEndObject();
        w.WriteStartObject("DNS");
        w.WriteString("TTL", q.DNS.TTL);
        w.WriteEndObject();
        w.WriteNumber("CreateIndex", q.CreateIndex);
        w.WriteNumber("ModifyIndex", q.ModifyIndex);
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, ImmutableArray<string> values)
    {
        if (values.IsDefaultOrEmpty)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Map(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        if (map.Count == 0) w.WriteNull(name);
        else JsonOut.StringMap(w, name, map);
    }
}
