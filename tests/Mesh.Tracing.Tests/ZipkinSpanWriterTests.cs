using System.Diagnostics;
using System.Text.Json;

namespace Mesh.Tracing.Tests;

public sealed class ZipkinSpanWriterTests : IDisposable
{
    private readonly ActivitySource _source = new("TracingTests.Writer." + Guid.NewGuid().ToString("N"));
    private readonly ActivityListener _listener;

    public ZipkinSpanWriterTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source == _source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }

    private Activity NewActivity(string name, ActivityKind kind) => _source.StartActivity(name, kind)!;

    private static JsonElement Write(Activity activity, string serviceName = "svc")
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            ZipkinSpanWriter.WriteSpan(writer, activity, serviceName);
        }

        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }

    [Fact]
    public void WriteSpan_TagTypes_AllStrings()
    {
        using var activity = NewActivity("tags", ActivityKind.Internal);
        activity.SetTag("text", "a");
        activity.SetTag("flag", true);
        activity.SetTag("count", 42);
        activity.SetTag("big", 1L << 40);
        activity.SetTag("ratio", 0.25);
        activity.SetTag("list", new[] { 1, 2 });
        activity.SetTag("names", new[] { "x", "y" });
        activity.SetTag("nothing", null);
        activity.Stop();

        var tags = Write(activity).GetProperty("tags");

        Assert.Equal("a", tags.GetProperty("text").GetString());
        Assert.Equal("true", tags.GetProperty("flag").GetString());
        Assert.Equal("42", tags.GetProperty("count").GetString());
        Assert.Equal("1099511627776", tags.GetProperty("big").GetString());
        Assert.Equal("0.25", tags.GetProperty("ratio").GetString());
        Assert.Equal("[1,2]", tags.GetProperty("list").GetString());
        Assert.Equal("[\"x\",\"y\"]", tags.GetProperty("names").GetString());
        Assert.False(tags.TryGetProperty("nothing", out _));
        Assert.All(tags.EnumerateObject(), tag => Assert.Equal(JsonValueKind.String, tag.Value.ValueKind));
    }

    [Fact]
    public void WriteSpan_Events_AnnotationsWithMicrosecondTimes()
    {
        using var activity = NewActivity("events", ActivityKind.Server);
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(30);
        activity.AddEvent(new ActivityEvent("retry", at));
        activity.AddEvent(new ActivityEvent("cache", at.AddMilliseconds(1), new ActivityTagsCollection { ["hit"] = false }));
        activity.Stop();

        var annotations = Write(activity).GetProperty("annotations").EnumerateArray().ToList();

        Assert.Equal(2, annotations.Count);
        Assert.Equal(ZipkinSpanWriter.Microseconds(at.UtcDateTime), annotations[0].GetProperty("timestamp").GetInt64());
        Assert.Equal("retry", annotations[0].GetProperty("value").GetString());
        Assert.Equal(ZipkinSpanWriter.Microseconds(at.UtcDateTime) + 1000, annotations[1].GetProperty("timestamp").GetInt64());
        Assert.Equal("{\"cache\":{\"hit\":\"false\"}}", annotations[1].GetProperty("value").GetString());
    }

    [Fact]
    public void WriteSpan_NoEventsNoParent_FieldsOmitted()
    {
        using var activity = NewActivity("root", ActivityKind.Internal);
        activity.Stop();

        var span = Write(activity);

        Assert.False(span.TryGetProperty("annotations", out _));
        Assert.False(span.TryGetProperty("parentId", out _));
        Assert.False(span.TryGetProperty("kind", out _));
        Assert.False(span.TryGetProperty("remoteEndpoint", out _));
        Assert.Equal("svc", span.GetProperty("localEndpoint").GetProperty("serviceName").GetString());
        Assert.Equal(32, span.GetProperty("traceId").GetString()!.Length);
        Assert.Equal(16, span.GetProperty("id").GetString()!.Length);
    }

    [Fact]
    public void WriteSpan_InstantSpan_DurationAtLeastOneMicrosecond()
    {
        using var activity = NewActivity("instant", ActivityKind.Internal);
        activity.SetEndTime(activity.StartTimeUtc);
        activity.Stop();

        Assert.True(Write(activity).GetProperty("duration").GetInt64() >= 1);
    }

    [Theory]
    [InlineData(ActivityKind.Client, "server.address", "[::1]:8443", null, "::1", 8443, null)]
    [InlineData(ActivityKind.Client, "server.address", "counting.service.consul:9003", "counting.service.consul", null, 9003, null)]
    [InlineData(ActivityKind.Client, "net.peer.name", "db.local", "db.local", null, null, null)]
    [InlineData(ActivityKind.Producer, "network.peer.address", "192.168.1.4", null, "192.168.1.4", 5672, "network.peer.port")]
    [InlineData(ActivityKind.Server, "client.address", "::ffff:10.0.0.1", null, "10.0.0.1", 51000, "client.port")]
    public void WriteSpan_PeerTags_RemoteEndpoint(ActivityKind kind, string tag, string value, string? serviceName, string? ip, int? port, string? portTag)
    {
        using var activity = NewActivity("call", kind);
        activity.SetTag(tag, value);
        if (portTag is not null) activity.SetTag(portTag, port);
        activity.Stop();

        var remote = Write(activity).GetProperty("remoteEndpoint");

        Assert.Equal(serviceName, remote.TryGetProperty("serviceName", out var name) ? name.GetString() : null);
        var address = remote.TryGetProperty("ipv4", out var v4) ? v4.GetString() : remote.TryGetProperty("ipv6", out var v6) ? v6.GetString() : null;
        Assert.Equal(ip, address);
        Assert.Equal(port, remote.TryGetProperty("port", out var p) ? (int?)p.GetInt32() : null);
    }

    [Fact]
    public void WriteSpan_ServerWithHostNameOnly_NoRemoteEndpoint()
    {
        // A server's peer is its client; a host name in server.address is this server's own name, not the peer's.
        using var activity = NewActivity("GET", ActivityKind.Server);
        activity.SetTag("server.address", "counting.local");
        activity.Stop();

        Assert.False(Write(activity).TryGetProperty("remoteEndpoint", out _));
    }

    [Fact]
    public void WriteSpan_ErrorStatusAndStrayErrorTag_StatusWinsOnce()
    {
        using var activity = NewActivity("fail", ActivityKind.Client);
        activity.SetTag("error", "stale");
        activity.SetTag("otel.status_code", "OK");
        activity.SetStatus(ActivityStatusCode.Error);
        activity.Stop();

        var tags = Write(activity).GetProperty("tags");

        Assert.Equal("ERROR", tags.GetProperty("otel.status_code").GetString());
        Assert.Equal("", tags.GetProperty("error").GetString());
        Assert.Single(tags.EnumerateObject(), t => t.Name == "error");
    }
}
