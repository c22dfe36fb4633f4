using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;

namespace Mesh.Tracing.Tests.Receivers;

/// <summary>An OTLP span as decoded from the wire, with its resource's <c>service.name</c> and its scope.</summary>
public sealed record OtlpSpan(
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    int Kind,
    ulong StartUnixNano,
    ulong EndUnixNano,
    int StatusCode,
    string? ServiceName,
    string? ScopeName,
    IReadOnlyDictionary<string, string> Attributes)
{
    /// <summary>All attributes of the span's resource.</summary>
    public IReadOnlyDictionary<string, string> ResourceAttributes { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Reads <c>opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest</c> straight from the protobuf wire
/// format (the OpenTelemetry packages ship no .proto files or generated classes), decoding only the fields the tests
/// assert on and skipping the rest, as any protobuf reader skips unknown fields.
/// </summary>
public static class OtlpDecoder
{
    /// <summary>OTLP span kinds (<c>Span.SpanKind</c>).</summary>
    public const int KindInternal = 1, KindServer = 2, KindClient = 3, KindProducer = 4, KindConsumer = 5;

    /// <summary>Decodes an ExportTraceServiceRequest.</summary>
    public static List<OtlpSpan> DecodeExportRequest(byte[] message)
    {
        var spans = new List<OtlpSpan>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            // 1: repeated ResourceSpans resource_spans
            if (Field(tag) == 1) DecodeResourceSpans(input.ReadBytes().ToByteArray(), spans);
            else input.SkipLastField();
        }

        return spans;
    }

    /// <summary>Splits a gRPC request body into its length-prefixed messages (none compressed).</summary>
    public static List<byte[]> GrpcMessages(byte[] body)
    {
        var messages = new List<byte[]>();
        var offset = 0;
        while (offset < body.Length)
        {
            if (body.Length - offset < 5) throw new FormatException("truncated gRPC frame header");
            if (body[offset] != 0) throw new FormatException("compressed gRPC message");
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset + 1, 4));
            if (body.Length - offset - 5 < length) throw new FormatException("truncated gRPC message");
            messages.Add(body.AsSpan(offset + 5, length).ToArray());
            offset += 5 + length;
        }

        return messages;
    }

    private static void DecodeResourceSpans(byte[] message, List<OtlpSpan> spans)
    {
        var resource = new Dictionary<string, string>();
        var found = new List<OtlpSpan>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (Field(tag))
            {
                case 1: // Resource resource
                    resource = DecodeAttributesOf(input.ReadBytes().ToByteArray(), attributesField: 1);
                    break;
                case 2: // repeated ScopeSpans scope_spans
                    DecodeScopeSpans(input.ReadBytes().ToByteArray(), found);
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        // The resource may come after its spans on the wire; attach it once the message is read.
        spans.AddRange(found.Select(span => span with { ServiceName = resource.GetValueOrDefault("service.name"), ResourceAttributes = resource }));
    }

    private static void DecodeScopeSpans(byte[] message, List<OtlpSpan> spans)
    {
        string? scopeName = null;
        var found = new List<OtlpSpan>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (Field(tag))
            {
                case 1: // InstrumentationScope scope { string name = 1; }
                    scopeName = DecodeScopeName(input.ReadBytes().ToByteArray());
                    break;
                case 2: // repeated Span spans
                    found.Add(DecodeSpan(input.ReadBytes().ToByteArray()));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        spans.AddRange(found.Select(span => span with { ScopeName = scopeName }));
    }

    private static string? DecodeScopeName(byte[] message)
    {
        var input = new CodedInputStream(message);
        uint tag;
        string? name = null;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Field(tag) == 1) name = input.ReadString();
            else input.SkipLastField();
        }

        return name;
    }

    private static OtlpSpan DecodeSpan(byte[] message)
    {
        string traceId = "", spanId = "", name = "";
        string? parent = null;
        int kind = 0, status = 0;
        ulong start = 0, end = 0;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (Field(tag))
            {
                case 1: traceId = Convert.ToHexStringLower(input.ReadBytes().Span); break;
                case 2: spanId = Convert.ToHexStringLower(input.ReadBytes().Span); break;
                case 4:
                    var parentBytes = input.ReadBytes();
                    parent = parentBytes.IsEmpty ? null : Convert.ToHexStringLower(parentBytes.Span);
                    break;
                case 5: name = input.ReadString(); break;
                case 6: kind = input.ReadEnum(); break;
                case 7: start = input.ReadFixed64(); break;
                case 8: end = input.ReadFixed64(); break;
                case 9:
                    var (key, value) = DecodeKeyValue(input.ReadBytes().ToByteArray());
                    attributes[key] = value;
                    break;
                case 15: status = DecodeStatusCode(input.ReadBytes().ToByteArray()); break;
                default: input.SkipLastField(); break;
            }
        }

        return new OtlpSpan(traceId, spanId, parent, name, kind, start, end, status, null, null, attributes);
    }

    private static int DecodeStatusCode(byte[] message)
    {
        // Status { string message = 2; StatusCode code = 3; }
        var input = new CodedInputStream(message);
        uint tag;
        var code = 0;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Field(tag) == 3) code = input.ReadEnum();
            else input.SkipLastField();
        }

        return code;
    }

    private static Dictionary<string, string> DecodeAttributesOf(byte[] message, int attributesField)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Field(tag) == attributesField)
            {
                var (key, value) = DecodeKeyValue(input.ReadBytes().ToByteArray());
                attributes[key] = value;
            }
            else
            {
                input.SkipLastField();
            }
        }

        return attributes;
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2; } with the scalar AnyValue cases as text.</summary>
    private static (string Key, string Value) DecodeKeyValue(byte[] message)
    {
        var key = "";
        var value = "";
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Field(tag) == 1) key = input.ReadString();
            else if (Field(tag) == 2) value = DecodeAnyValue(input.ReadBytes().ToByteArray());
            else input.SkipLastField();
        }

        return (key, value);
    }

    private static string DecodeAnyValue(byte[] message)
    {
        var input = new CodedInputStream(message);
        uint tag;
        var value = "";
        while ((tag = input.ReadTag()) != 0)
        {
            switch (Field(tag))
            {
                case 1: value = input.ReadString(); break;
                case 2: value = input.ReadBool() ? "true" : "false"; break;
                case 3: value = input.ReadInt64().ToString(CultureInfo.InvariantCulture); break;
                case 4: value = input.ReadDouble().ToString("R", CultureInfo.InvariantCulture); break;
                default: input.SkipLastField(); break;
            }
        }

        return value;
    }

    private static int Field(uint tag) => WireFormat.GetTagFieldNumber(tag);
}
