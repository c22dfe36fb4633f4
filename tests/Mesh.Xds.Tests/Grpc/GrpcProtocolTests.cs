using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using Mesh.Xds.Grpc;
using Mesh.Xds.Tests.Grpc.Echo;

namespace Mesh.Xds.Tests.Grpc;

public sealed class GrpcProtocolTests
{
    [Theory]
    [InlineData("2H", 2 * 3600 * 1000.0)]
    [InlineData("3M", 3 * 60 * 1000.0)]
    [InlineData("7S", 7000.0)]
    [InlineData("250m", 250.0)]
    [InlineData("1500u", 1.5)]
    [InlineData("2000000n", 2.0)]
    [InlineData("99999999S", 99_999_999_000.0)]
    public void TryParseTimeout_EveryUnit_Milliseconds(string value, double expectedMilliseconds)
    {
        Assert.True(GrpcProtocol.TryParseTimeout(value, out var timeout));
        Assert.Equal(expectedMilliseconds, timeout.TotalMilliseconds, 6);
    }

    [Fact]
    public void TryParseTimeout_Nanoseconds_RoundedUpToATick()
    {
        Assert.True(GrpcProtocol.TryParseTimeout("1n", out var timeout));
        Assert.Equal(1, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData("123456789S")]
    [InlineData(" 1S")]
    public void TryParseTimeout_Malformed_False(string value)
    {
        Assert.False(GrpcProtocol.TryParseTimeout(value, out _));
    }

    [Theory]
    [InlineData(0L, "0u")]
    [InlineData(15L, "2u")]
    [InlineData(10_000L, "1000u")]
    [InlineData(TimeSpan.TicksPerSecond * 100, "100000m")]
    [InlineData(TimeSpan.TicksPerDay * 3, "259200S")]
    [InlineData(-5L, "0u")]
    public void FormatTimeout_FinestUnitThatFits_RoundedUp(long ticks, string expected)
    {
        Assert.Equal(expected, GrpcProtocol.FormatTimeout(TimeSpan.FromTicks(ticks)));
    }

    [Fact]
    public void FormatTimeout_ParsedBack_NeverShorter()
    {
        foreach (var timeout in new[] { TimeSpan.FromMilliseconds(1.23), TimeSpan.FromSeconds(99.5), TimeSpan.FromDays(400), TimeSpan.FromDays(20000) })
        {
            Assert.True(GrpcProtocol.TryParseTimeout(GrpcProtocol.FormatTimeout(timeout), out var parsed));
            Assert.True(parsed >= timeout, $"{timeout} came back as {parsed}");
        }
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100% done", "100%25 done")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("ünï", "%C3%BCn%C3%AF")]
    public void EncodeMessage_NonPrintableAndPercent_PercentEncodedUtf8(string message, string expected)
    {
        Assert.Equal(expected, GrpcProtocol.EncodeMessage(message));
        Assert.Equal(message, GrpcProtocol.DecodeMessage(expected));
    }

    [Fact]
    public void DecodeMessage_BrokenEscapes_KeptAsTheyAre()
    {
        Assert.Equal("50% and %zz and %4", GrpcProtocol.DecodeMessage("50% and %zz and %4"));
        Assert.Equal("\uFFFD", GrpcProtocol.DecodeMessage("%FF"));
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/GRPC; charset=utf-8", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void IsGrpcContentType_ProtoCodecOnly(string? contentType, bool expected)
    {
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));
    }

    [Fact]
    public void Metadata_ReservedOrInvalidKeys_Refused()
    {
        var metadata = new GrpcMetadata().Add("X-Mesh-Test", "a").Add("x-mesh-test", "b");

        Assert.Equal("b", metadata.Get("x-mesh-test"));
        Assert.Equal(["a", "b"], metadata.GetAll("X-MESH-TEST"));
        Assert.Throws<ArgumentException>(() => metadata.Add("grpc-status", "0"));
        Assert.Throws<ArgumentException>(() => metadata.Add("content-type", "x"));
        Assert.Throws<ArgumentException>(() => metadata.Add("bad key", "x"));
        Assert.Throws<ArgumentException>(() => metadata.Add("ok", "new\nline"));
        Assert.Throws<InvalidOperationException>(() => GrpcMetadata.Empty.Add("a", "b"));
    }

    [Fact]
    public async Task ReadMessageAsync_MessagesSplitAcrossReads_EachWholeThenEnd()
    {
        var first = Frame(new EchoRequest { Text = "one", Payload = ByteString.CopyFrom(new byte[3000]) });
        var second = Frame(new EchoRequest { Text = "two" });
        var pipe = new Pipe();
        var bytes = first.Concat(second).ToArray();
        // Dribble the bytes in small pieces so headers and payloads straddle reads.
        var feeding = Task.Run(async () =>
        {
            for (var i = 0; i < bytes.Length; i += 7)
            {
                await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(7, bytes.Length - i)));
            }

            await pipe.Writer.CompleteAsync();
        });

        var one = await GrpcFrames.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, 4096, CancellationToken.None);
        var two = await GrpcFrames.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, 4096, CancellationToken.None);
        var end = await GrpcFrames.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, 4096, CancellationToken.None);
        await feeding;

        Assert.Equal("one", one!.Text);
        Assert.Equal(3000, one.Payload.Length);
        Assert.Equal("two", two!.Text);
        Assert.Null(end);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0 }, StatusCode.Internal, "of the 5 header bytes")]
    [InlineData(new byte[] { 0, 0, 0, 0, 9, 0x0A, 1 }, StatusCode.Internal, "after 2 of 9 bytes")]
    [InlineData(new byte[] { 1, 0, 0, 0, 0 }, StatusCode.Internal, "compressed")]
    [InlineData(new byte[] { 2, 0, 0, 0, 0 }, StatusCode.Internal, "compressed flag is 2")]
    [InlineData(new byte[] { 0, 0, 0, 0, 2, 0xFF, 0xFF }, StatusCode.Internal, "could not parse")]
    [InlineData(new byte[] { 0, 0x7F, 0xFF, 0xFF, 0xFF }, StatusCode.ResourceExhausted, "larger than the limit of 4096")]
    public async Task ReadMessageAsync_BadFrame_StatusException(byte[] bytes, StatusCode code, string detail)
    {
        var reader = PipeReader.Create(new ReadOnlySequence<byte>(bytes));

        var ex = await Assert.ThrowsAsync<GrpcException>(() =>
            GrpcFrames.ReadMessageAsync(reader, EchoRequest.Parser, 4096, CancellationToken.None).AsTask());

        Assert.Equal(code, ex.StatusCode);
        Assert.Contains(detail, ex.Status.Detail);
    }

    [Fact]
    public void WriteMessage_OverSendLimit_ResourceExhausted()
    {
        var writer = new ArrayBufferWriter<byte>();
        var message = new EchoRequest { Payload = ByteString.CopyFrom(new byte[100]) };

        var ex = Assert.Throws<GrpcException>(() => GrpcFrames.WriteMessage(writer, message, 50));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void Router_BadOrDuplicatePath_Refused()
    {
        var router = new GrpcRouter().MapUnary<EchoRequest, EchoReply>("/a.B/C", EchoRequest.Parser, (r, _) => Task.FromResult(new EchoReply()));

        Assert.Throws<ArgumentException>(() => router.MapUnary<EchoRequest, EchoReply>("/a.B/C", EchoRequest.Parser, (r, _) => Task.FromResult(new EchoReply())));
        foreach (var bad in new[] { "a.B/C", "/a.B", "/a.B/", "//C", "/a/b/c" })
        {
            Assert.Throws<ArgumentException>(() => router.MapUnary<EchoRequest, EchoReply>(bad, EchoRequest.Parser, (r, _) => Task.FromResult(new EchoReply())));
        }
    }

    internal static byte[] Frame(IMessage message)
    {
        var writer = new ArrayBufferWriter<byte>();
        GrpcFrames.WriteMessage(writer, message, int.MaxValue);
        return writer.WrittenSpan.ToArray();
    }
}
