using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using OpenTelemetry;

namespace Mesh.Tracing;

/// <summary>
/// Writes activities in Zipkin's v2 JSON model, following OpenTelemetry's Zipkin mapping: ids in lower hex,
/// <c>timestamp</c> and <c>duration</c> in microseconds, kind in upper case (absent for internal spans), the local
/// service from the resource, attributes and status as string tags, events as annotations.
/// </summary>
/// <remarks>
/// <c>shared</c> is never written. In Zipkin it marks a server span that reuses its client's span id (B3's joined
/// spans), so that the two halves are merged. An <see cref="Activity"/> always gets a span id of its own, even when it
/// joins a remote caller's trace (its caller's id is its <c>parentId</c>), so no span here shares an id, and marking one
/// shared would ask Zipkin to merge it with a client half that does not exist.
/// </remarks>
internal static class ZipkinSpanWriter
{
    private static readonly DateTime Epoch = DateTime.UnixEpoch;

    /// <summary>The tag an activity may carry to name its own local service (the sidecar sets it per listener).</summary>
    public const string ServiceNameTag = "service.name";

    /// <summary>Writes the batch as one JSON array and returns how many spans it holds.</summary>
    public static int WriteBatch(Utf8JsonWriter writer, in Batch<Activity> batch, string serviceName)
    {
        var count = 0;
        writer.WriteStartArray();
        foreach (var activity in batch)
        {
            WriteSpan(writer, activity, serviceName);
            count++;
        }

        writer.WriteEndArray();
        return count;
    }

    /// <summary>Writes one span object.</summary>
    public static void WriteSpan(Utf8JsonWriter writer, Activity activity, string serviceName)
    {
        writer.WriteStartObject();
        writer.WriteString("traceId", activity.TraceId.ToHexString());
        writer.WriteString("id", activity.SpanId.ToHexString());
        if (activity.ParentSpanId != default) writer.WriteString("parentId", activity.ParentSpanId.ToHexString());
        if (Kind(activity.Kind) is { } kind) writer.WriteString("kind", kind);
        writer.WriteString("name", activity.DisplayName);
        writer.WriteNumber("timestamp", Microseconds(activity.StartTimeUtc));
        // Zipkin reads a zero duration as "unknown"; a span that finished within a microsecond took at least one.
        writer.WriteNumber("duration", Math.Max(1L, activity.Duration.Ticks / 10));

        writer.WriteStartObject("localEndpoint");
        writer.WriteString("serviceName", activity.GetTagItem(ServiceNameTag) is string { Length: > 0 } own ? own : serviceName);
        writer.WriteEndObject();

        WriteRemoteEndpoint(writer, activity);
        WriteAnnotations(writer, activity);
        WriteTags(writer, activity);
        writer.WriteEndObject();
    }

    /// <summary>Microseconds since the Unix epoch.</summary>
    public static long Microseconds(DateTime utc) => (utc - Epoch).Ticks / 10;

    private static string? Kind(ActivityKind kind) => kind switch
    {
        ActivityKind.Server => "SERVER",
        ActivityKind.Client => "CLIENT",
        ActivityKind.Producer => "PRODUCER",
        ActivityKind.Consumer => "CONSUMER",
        _ => null,
    };

    /// <summary>
    /// The other side of an RPC or message, when the span says who it was: <c>peer.service</c> names it; the peer's
    /// address (<c>server.address</c> on clients and producers, <c>client.address</c> on servers and consumers,
    /// <c>network.peer.address</c> on either) becomes <c>ipv4</c>/<c>ipv6</c>, or names it when it is a host name.
    /// </summary>
    private static void WriteRemoteEndpoint(Utf8JsonWriter writer, Activity activity)
    {
        var outbound = activity.Kind is ActivityKind.Client or ActivityKind.Producer;
        var inbound = activity.Kind is ActivityKind.Server or ActivityKind.Consumer;
        if (!outbound && !inbound) return;

        var serviceName = Text(activity, "peer.service");
        var address = outbound
            ? Text(activity, "server.address") ?? Text(activity, "net.peer.name") ?? Text(activity, "network.peer.address")
            : Text(activity, "client.address") ?? Text(activity, "network.peer.address");
        var port = Port(activity, outbound ? "server.port" : "client.port") ?? Port(activity, "network.peer.port");

        IPAddress? ip = null;
        if (address is not null)
        {
            // IPEndPoint parses a bare address (port 0) as well as "10.0.0.7:8080" and "[::1]:8080", as the sidecar
            // records the upstream host.
            if (IPEndPoint.TryParse(address, out var endpoint))
            {
                ip = endpoint.Address;
                if (endpoint.Port != 0) port ??= endpoint.Port;
            }
            else if (outbound)
            {
                // A host name identifies the peer better than nothing; OpenTelemetry's mapping ranks it after peer.service.
                var colon = address.LastIndexOf(':');
                if (colon > 0 && address.IndexOf(':') == colon && int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var hostPort))
                {
                    port ??= hostPort;
                    address = address[..colon];
                }

                serviceName ??= address;
            }
        }

        if (serviceName is null && ip is null && port is null) return;
        writer.WriteStartObject("remoteEndpoint");
        if (serviceName is not null) writer.WriteString("serviceName", serviceName);
        if (ip is not null)
        {
            if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
            writer.WriteString(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4", ip.ToString());
        }

        if (port is not null) writer.WriteNumber("port", port.Value);
        writer.WriteEndObject();
    }

    private static void WriteAnnotations(Utf8JsonWriter writer, Activity activity)
    {
        var wrote = false;
        foreach (var activityEvent in activity.Events)
        {
            if (!wrote)
            {
                writer.WriteStartArray("annotations");
                wrote = true;
            }

            writer.WriteStartObject();
            writer.WriteNumber("timestamp", Microseconds(activityEvent.Timestamp.UtcDateTime));
            writer.WriteString("value", AnnotationValue(activityEvent));
            writer.WriteEndObject();
        }

        if (wrote) writer.WriteEndArray();
    }

    /// <summary>The event's name, or <c>{"name":{attributes}}</c> when it has attributes, as OpenTelemetry maps events.</summary>
    private static string AnnotationValue(ActivityEvent activityEvent)
    {
        using var enumerator = activityEvent.Tags.GetEnumerator();
        if (!enumerator.MoveNext()) return activityEvent.Name;
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartObject(activityEvent.Name);
            foreach (var tag in activityEvent.Tags)
            {
                if (TagValue(tag.Value) is { } value) json.WriteString(tag.Key, value);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>
    /// Attributes become string tags; the status becomes <c>otel.status_code</c> (<c>OK</c>/<c>ERROR</c>) and, on
    /// error, <c>error</c> holding the description, which is what Zipkin's UI marks in red. The instrumentation scope
    /// goes in <c>otel.scope.name</c>/<c>otel.scope.version</c>.
    /// </summary>
    private static void WriteTags(Utf8JsonWriter writer, Activity activity)
    {
        writer.WriteStartObject("tags");
        var hasStatus = activity.Status != ActivityStatusCode.Unset;
        foreach (var tag in activity.TagObjects)
        {
            if (tag.Key == ServiceNameTag) continue;
            // The span's status is the authority on these two; a stray attribute of the same name must not contradict it.
            if (hasStatus && tag.Key is "otel.status_code" or "error") continue;
            if (tag.Key is "otel.scope.name" or "otel.scope.version") continue;
            if (TagValue(tag.Value) is { } value) writer.WriteString(tag.Key, value);
        }

        writer.WriteString("otel.scope.name", activity.Source.Name);
        if (!string.IsNullOrEmpty(activity.Source.Version)) writer.WriteString("otel.scope.version", activity.Source.Version);
        switch (activity.Status)
        {
            case ActivityStatusCode.Ok:
                writer.WriteString("otel.status_code", "OK");
                break;
            case ActivityStatusCode.Error:
                writer.WriteString("otel.status_code", "ERROR");
                writer.WriteString("error", activity.StatusDescription ?? "");
                break;
        }

        writer.WriteEndObject();
    }

    private static string? Text(Activity activity, string key) =>
        activity.GetTagItem(key) switch
        {
            string text => text.Length > 0 ? text : null,
            var other => TagValue(other),
        };

    private static int? Port(Activity activity, string key) =>
        activity.GetTagItem(key) switch
        {
            int port when port is > 0 and <= 65535 => port,
            long port when port is > 0 and <= 65535 => (int)port,
            string text when int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535 => port,
            _ => null,
        };

    /// <summary>A Zipkin tag value: strings as they are, numbers and booleans invariantly, arrays as JSON arrays.</summary>
    internal static string? TagValue(object? value) => value switch
    {
        null => null,
        string text => text,
        bool flag => flag ? "true" : "false",
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        float number => number.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable sequence => JsonArray(sequence),
        _ => value.ToString(),
    };

    private static string JsonArray(IEnumerable sequence)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartArray();
            foreach (var item in sequence)
            {
                switch (item)
                {
                    case null:
                        json.WriteNullValue();
                        break;
                    case bool flag:
                        json.WriteBooleanValue(flag);
                        break;
                    case string text:
                        json.WriteStringValue(text);
                        break;
                    case int or long or short or byte or sbyte or ushort or uint:
                        json.WriteNumberValue(Convert.ToInt64(item, CultureInfo.InvariantCulture));
                        break;
                    case double or float or decimal:
                        json.WriteNumberValue(Convert.ToDouble(item, CultureInfo.InvariantCulture));
                        break;
                    default:
                        json.WriteStringValue(TagValue(item));
                        break;
                }
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }
}
