using System.Text.Json;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

/// <summary>Catalog and health objects in Consul's JSON shapes and field order.</summary>
internal static class CatalogJson
{
    private const string EmptyProxy = """{"MeshGateway":{},"Expose":{}}""";

    public static void Node(Utf8JsonWriter w, Node n)
    {
        w.WriteStartObject();
        w.WriteString("ID", n.ID);
        w.WriteString("Node", n.Name);
        w.WriteString("Address", n.Address);
        w.WriteString("Datacenter", n.Datacenter);
        JsonOut.StringMap(w, "TaggedAddresses", n.TaggedAddresses);
        JsonOut.StringMap(w, "Meta", n.Meta);
        w.WriteNumber("CreateIndex", n.CreateIndex);
        w.WriteNumber("ModifyIndex", n.ModifyIndex);
        w.WriteEndObject();
    }

    /// <summary>A <c>/v1/catalog/service</c> entry: the node's fields flattened with the instance's.</summary>
    public static void ServiceNode(Utf8JsonWriter w, Node n, ServiceInstance s)
    {
        w.WriteStartObject();
        w.WriteString("ID", n.ID);
        w.WriteString("Node", n.Name);
        w.WriteString("Address", n.Address);
        w.WriteString("Datacenter", n.Datacenter);
        JsonOut.StringMap(w, "TaggedAddresses", n.TaggedAddresses);
        JsonOut.StringMap(w, "NodeMeta", n.Meta);
        w.WriteString("ServiceKind", s.Kind);
        w.WriteString("ServiceID", s.ID);
        w.WriteString("ServiceName", s.Service);
        ServiceFields(w, s, "Service");
        w.WriteNumber("CreateIndex", s.CreateIndex);
        w.WriteNumber("ModifyIndex", s.ModifyIndex);
        w.WriteEndObject();
    }

    /// <summary>An instance as it appears under a node (<c>NodeService</c>).</summary>
    public static void NodeService(Utf8JsonWriter w, ServiceInstance s)
    {
        w.WriteStartObject();
        if (s.Kind.Length > 0) w.WriteString("Kind", s.Kind);
        w.WriteString("ID", s.ID);
        w.WriteString("Service", s.Service);
        ServiceFields(w, s, "");
        w.WriteNumber("CreateIndex", s.CreateIndex);
        w.WriteNumber("ModifyIndex", s.ModifyIndex);
        w.WriteEndObject();
    }

    public static void Check(Utf8JsonWriter w, HealthCheck c)
    {
        w.WriteStartObject();
        w.WriteString("Node", c.Node);
        w.WriteString("CheckID", c.CheckID);
        w.WriteString("Name", c.Name);
        w.WriteString("Status", c.Status);
        w.WriteString("Notes", c.Notes);
        w.WriteString("Output", c.Output);
        w.WriteString("ServiceID", c.ServiceID);
        w.WriteString("ServiceName", c.ServiceName);
        Strings(w, "ServiceTags", c.ServiceTags);
        w.WriteString("Type", c.Type);
        w.WriteString("Interval", "");
        w.WriteString("Timeout", "");
        w.WriteNumber("ExposedPort", 0);
        w.WritePropertyName("Definition");
        w.WriteRawValue(c.DefinitionJson ?? "{}");
        w.WriteNumber("CreateIndex", c.CreateIndex);
        w.WriteNumber("ModifyIndex", c.ModifyIndex);
        w.WriteEndObject();
    }

    /// <summary>A <c>/v1/health/service</c> entry: <c>{Node, Service, Checks}</c>.</summary>
    public static void ServiceHealth(Utf8JsonWriter w, Mesh.State.ServiceHealth e)
    {
        w.WriteStartObject();
        w.WritePropertyName("Node");
        Node(w, e.Node);
        w.WritePropertyName("Service");
        NodeService(w, e.Service);
        w.WriteStartArray("Checks");
        foreach (var c in e.Checks) Check(w, c);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// The fields a service instance shares between its two shapes: bare under a node (<c>Tags</c>, <c>Port</c>...)
    /// and prefixed with <c>Service</c> when flattened beside its node's fields (<c>ServiceTags</c>, <c>ServicePort</c>...).
    /// </summary>
    private static void ServiceFields(Utf8JsonWriter w, ServiceInstance s, string prefix)
    {
        Strings(w, prefix + "Tags", s.Tags);
        w.WriteString(prefix + "Address", s.Address);
        TaggedAddresses(w, prefix + "TaggedAddresses", s);
        JsonOut.StringMap(w, prefix + "Meta", s.Meta);
        w.WriteNumber(prefix + "Port", s.Port);
        Weights(w, prefix + "Weights", s.Weights);
        w.WriteBoolean(prefix + "EnableTagOverride", s.EnableTagOverride);
        w.WritePropertyName(prefix + "Proxy");
        w.WriteRawValue(s.ProxyJson ?? EmptyProxy);
        w.WritePropertyName(prefix + "Connect");
        w.WriteRawValue(s.ConnectJson ?? "{}");
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void TaggedAddresses(Utf8JsonWriter w, string name, ServiceInstance s)
    {
        w.WriteStartObject(name);
        foreach (var (key, a) in s.TaggedAddresses.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject(key);
            w.WriteString("Address", a.Address);
            w.WriteNumber("Port", a.Port);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Weights(Utf8JsonWriter w, string name, ServiceWeights weights)
    {
        w.WriteStartObject(name);
        w.WriteNumber("Passing", weights.Passing);
        w.WriteNumber("Warning", weights.Warning);
        w.WriteEndObject();
    }
}
