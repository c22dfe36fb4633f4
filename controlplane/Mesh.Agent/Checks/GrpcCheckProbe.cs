using Mesh.State.Tables;
using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Text;

namespace Mesh.Agent.Checks;

/// <summary>
/// Consul's gRPC check: calls the standard <c>grpc.health.v1.Health/Check</c> over HTTP/2 (h2c, or TLS with
/// <c>GRPCUseTLS</c>) and is passing only when the answer is SERVING. The two one-field protobuf messages are encoded
/// by hand, which keeps a gRPC stack out of the agent.
/// </summary>
internal sealed class GrpcCheckProbe : ICheckProbe, IDisposable
{
    private const int ServingStatusServing = 1;

    private static readonly string[] ServingStatusNames = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

    private static readonly string[] StatusCodeNames =
    [
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
        "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
        "Internal", "Unavailable", "DataLoss", "Unauthenticated",
    ];

    private readonly string _target;
    private readonly TimeSpan _timeout;
    private readonly Uri? _uri;
    private readonly byte[] _requestFrame;
    private readonly HttpClient _client;

    public GrpcCheckProbe(CheckDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        _target = definition.GRPC;
        _timeout = definition.EffectiveTimeout;

        // host:port[/service]: everything after the first slash is the service name, empty for the whole server.
        var slash = _target.IndexOf('/');
        var server = slash < 0 ? _target : _target[..slash];
        var service = slash < 0 ? string.Empty : _target[(slash + 1)..];
        if (HostPort.TryParse(server, out var host, out var port))
        {
            var scheme = definition.GRPCUseTLS ? "https" : "http";
            var uriHost = host.Contains(':') ? $"[{host}]" : host;
            _uri = new Uri($"{scheme}://{uriHost}:{port}/grpc.health.v1.Health/Check");
        }

        _requestFrame = EncodeRequest(service);
        var handler = new SocketsHttpHandler
        {
            // A fresh connection per run, as Consul dials per check, so a restarted server is seen as it is now.
            PooledConnectionLifetime = TimeSpan.Zero,
            UseCookies = false,
        };
        if (definition.TLSSkipVerify)
        {
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = static (_, _, _, _) => true };
        }

        _client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public async Task<CheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        if (_uri is null)
        {
            return Critical("Unavailable", $"target {_target} is not host:port[/service]");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _uri)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent(_requestFrame),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
            request.Headers.TryAddWithoutValidation("grpc-timeout", $"{Math.Max(1, (long)_timeout.TotalMilliseconds)}m");
            request.Headers.UserAgent.ParseAdd("grpc-mesh-health-check/1.0");

            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return Critical("Unavailable", $"unexpected HTTP status code received from server: {(int)response.StatusCode}");
            }

            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);

            // A failed call may come as "Trailers-Only": grpc-status in the headers and no body.
            var grpcStatus = Header(response.Headers, "grpc-status") ?? Header(response.TrailingHeaders, "grpc-status");
            if (grpcStatus is null)
            {
                return Critical("Internal", "server closed the stream without sending trailers");
            }

            if (grpcStatus != "0")
            {
                var message = Header(response.Headers, "grpc-message") ?? Header(response.TrailingHeaders, "grpc-message") ?? string.Empty;
                var code = int.TryParse(grpcStatus, out var n) && n >= 0 && n < StatusCodeNames.Length ? StatusCodeNames[n] : "Code(" + grpcStatus + ")";
                return Critical(code, Uri.UnescapeDataString(message));
            }

            if (!TryDecodeResponse(body, out var servingStatus, out var problem))
            {
                return Critical("Internal", problem);
            }

            if (servingStatus != ServingStatusServing)
            {
                var name = servingStatus >= 0 && servingStatus < ServingStatusNames.Length ? ServingStatusNames[servingStatus] : servingStatus.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return new CheckResult(HealthStatus.Critical, $"gRPC {_target} serving status: {name}");
            }

            return new CheckResult(HealthStatus.Passing, $"gRPC check {_target}: success");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Critical("DeadlineExceeded", "context deadline exceeded");
        }
        catch (HttpRequestException ex)
        {
            var detail = ex.InnerException is { } inner && !string.IsNullOrEmpty(inner.Message) ? $"{ex.Message} ({inner.Message})" : ex.Message;
            return Critical("Unavailable", "connection error: " + detail);
        }
        catch (IOException ex)
        {
            return Critical("Unavailable", ex.Message);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>grpc-go's error text, which is what Consul shows as the output of a failed gRPC check.</summary>
    private static CheckResult Critical(string code, string description) =>
        new(HealthStatus.Critical, $"rpc error: code = {code} desc = {description}");

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>A length-prefixed gRPC message holding <c>HealthCheckRequest{string service = 1}</c>.</summary>
    internal static byte[] EncodeRequest(string service)
    {
        var name = Encoding.UTF8.GetBytes(service);
        var message = new List<byte>();
        if (name.Length > 0)
        {
            // Field 1, wire type 2 (length-delimited); proto3 leaves an empty string out entirely.
            message.Add(0x0A);
            WriteVarint(message, (ulong)name.Length);
            message.AddRange(name);
        }

        var frame = new byte[5 + message.Count];
        frame[0] = 0; // not compressed
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Count);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Reads <c>HealthCheckResponse{ServingStatus status = 1}</c> from one gRPC message, skipping unknown fields.</summary>
    internal static bool TryDecodeResponse(ReadOnlySpan<byte> body, out int status, out string problem)
    {
        status = 0;
        problem = string.Empty;
        if (body.Length < 5)
        {
            problem = "response has no message";
            return false;
        }

        if (body[0] != 0)
        {
            problem = "compressed response without a negotiated encoding";
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
        if (length > body.Length - 5)
        {
            problem = "response message is truncated";
            return false;
        }

        var message = body.Slice(5, (int)length);
        while (!message.IsEmpty)
        {
            if (!TryReadVarint(ref message, out var key))
            {
                problem = "malformed response message";
                return false;
            }

            var field = key >> 3;
            switch (key & 7)
            {
                case 0:
                    if (!TryReadVarint(ref message, out var value))
                    {
                        problem = "malformed response message";
                        return false;
                    }

                    if (field == 1)
                    {
                        status = (int)value;
                    }

                    break;
                case 1 when message.Length >= 8:
                    message = message[8..];
                    break;
                case 2 when TryReadVarint(ref message, out var size) && size <= (ulong)message.Length:
                    message = message[(int)size..];
                    break;
                case 5 when message.Length >= 4:
                    message = message[4..];
                    break;
                default:
                    problem = "malformed response message";
                    return false;
            }
        }

        return true;
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    private static bool TryReadVarint(ref ReadOnlySpan<byte> input, out ulong value)
    {
        value = 0;
        for (var i = 0; i < 10 && i < input.Length; i++)
        {
            value |= (ulong)(input[i] & 0x7F) << (7 * i);
            if ((input[i] & 0x80) == 0)
            {
                input = input[(i + 1)..];
                return true;
            }
        }

        return false;
    }
}
