using System.Text.Json;
using Mesh.Connect.Entries;
using Mesh.State.Text;

namespace Mesh.Connect.DiscoveryChain;

/// <summary>Writes a compiled chain in the shape of Consul's <c>/v1/discovery-chain/&lt;service&gt;</c> answer.</summary>
public static class ChainJson
{
    /// <summary>Writes <c>{"Chain": {...}}</c>.</summary>
    public static void Write(Utf8JsonWriter w, CompiledChain chain)
    {
        w.WriteStartObject();
        w.WritePropertyName("Chain");
        w.WriteStartObject();
        w.WriteString("ServiceName", chain.ServiceName);
        w.WriteString("Namespace", chain.Namespace);
        w.WriteString("Partition", "default");
        w.WriteString("Datacenter", chain.Datacenter);
        w.WriteString("CustomizationHash", "");
        w.WriteBoolean("Default", chain.Default);
        w.WriteString("Protocol", chain.Protocol);
        w.WriteString("StartNode", chain.StartNode);
        w.WritePropertyName("Nodes");
        w.WriteStartObject();
        foreach (var (name, node) in chain.Nodes)
        {
            w.WritePropertyName(name);
            WriteNode(w, node);
        }
        w.WriteEndObject();
        w.WritePropertyName("Targets");
        w.WriteStartObject();
        foreach (var (id, target) in chain.Targets)
        {
            w.WritePropertyName(id);
            WriteTarget(w, target);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteNode(Utf8JsonWriter w, ChainNode node)
    {
        w.WriteStartObject();
        w.WriteString("Type", node.Type);
        w.WriteString("Name", node.Name);
        if (node.Routes is { } routes)
        {
            w.WriteStartArray("Routes");
            foreach (var r in routes)
            {
                w.WriteStartObject();
                w.WritePropertyName("Definition");
                JsonSerializer.Serialize(w, r.Definition, ConfigEntryJson.Options);
                w.WriteString("NextNode", r.NextNode);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (node.Splits is { } splits)
        {
            w.WriteStartArray("Splits");
            foreach (var s in splits)
            {
                w.WriteStartObject();
                w.WriteNumber("Weight", s.Weight);
                w.WriteString("NextNode", s.NextNode);
                if (s.RequestHeaders is { } req)
                {
                    w.WritePropertyName("RequestHeaders");
                    JsonSerializer.Serialize(w, req, ConfigEntryJson.Options);
                }
                if (s.ResponseHeaders is { } resp)
                {
                    w.WritePropertyName("ResponseHeaders");
                    JsonSerializer.Serialize(w, resp, ConfigEntryJson.Options);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (node.Resolver is { } r2)
        {
            w.WritePropertyName("Resolver");
            w.WriteStartObject();
            w.WriteString("ConnectTimeout", GoDuration.Format(r2.ConnectTimeout));
            if (r2.RequestTimeout > TimeSpan.Zero) w.WriteString("RequestTimeout", GoDuration.Format(r2.RequestTimeout));
            w.WriteBoolean("Default", r2.Default);
            w.WriteString("Target", r2.Target);
            if (r2.Failover is { } failover)
            {
                w.WritePropertyName("Failover");
                w.WriteStartObject();
                w.WriteStartArray("Targets");
                foreach (var t in failover) w.WriteStringValue(t);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        if (node.LoadBalancer is { } lb)
        {
            w.WritePropertyName("LoadBalancer");
            JsonSerializer.Serialize(w, lb, ConfigEntryJson.Options);
        }
        w.WriteEndObject();
    }

    private static void WriteTarget(Utf8JsonWriter w, ChainTarget t)
    {
        w.WriteStartObject();
        w.WriteString("ID", t.ID);
        w.WriteString("Service", t.Service);
        w.WriteString("ServiceSubset", t.ServiceSubset);
        w.WriteString("Namespace", t.Namespace);
        w.WriteString("Partition", "default");
        w.WriteString("Datacenter", t.Datacenter);
        w.WriteStartObject("MeshGateway");
        w.WriteEndObject();
        w.WriteStartObject("Subset");
        if (t.Subset.Filter.Length > 0) w.WriteString("Filter", t.Subset.Filter);
        if (t.Subset.OnlyPassing) w.WriteBoolean("OnlyPassing", true);
        w.WriteEndObject();
        w.WriteString("ConnectTimeout", GoDuration.Format(t.ConnectTimeout));
        w.WriteString("SNI", t.SNI);
        w.WriteString("Name", t.Name);
        w.WriteEndObject();
    }
}
