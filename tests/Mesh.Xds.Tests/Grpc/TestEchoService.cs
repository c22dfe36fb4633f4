using Google.Protobuf;
using Mesh.Xds.Grpc;
using Mesh.Xds.Tests.Grpc.Echo;

namespace Mesh.Xds.Tests.Grpc;

/// <summary>
/// mesh.test.EchoService on Mesh's server, with the semantics of tests/interop/grpc-js/server.mjs, plus hooks that
/// let a test see what the handlers saw (cancellation, the deadline, the end of the request stream).
/// </summary>
internal sealed class TestEchoService
{
    public const string EchoPath = "/mesh.test.EchoService/Echo";
    public const string ChatPath = "/mesh.test.EchoService/Chat";
    public const string CountdownPath = "/mesh.test.EchoService/Countdown";
    public const string CrashPath = "/mesh.test.EchoService/Crash";

    /// <summary>Completes with the context of a call whose token fired.</summary>
    public TaskCompletionSource<GrpcCallContext> Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the context of the first call that started.</summary>
    public TaskCompletionSource<GrpcCallContext> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a Chat call saw its request stream end (the client's half-close).</summary>
    public TaskCompletionSource<int> HalfClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GrpcRouter Router()
    {
        return new GrpcRouter()
            .MapUnary<EchoRequest, EchoReply>(EchoPath, EchoRequest.Parser, EchoAsync)
            .MapDuplex<EchoRequest, EchoReply>(ChatPath, EchoRequest.Parser, ChatAsync)
            .MapServerStreaming<EchoRequest, EchoReply>(CountdownPath, EchoRequest.Parser, CountdownAsync)
            .MapUnary<EchoRequest, EchoReply>(CrashPath, EchoRequest.Parser, (_, _) => throw new InvalidOperationException("secret internal detail"));
    }

    private async Task<EchoReply> EchoAsync(EchoRequest request, GrpcCallContext context)
    {
        Started.TrySetResult(context);
        using var registration = context.CancellationToken.Register(() => Cancelled.TrySetResult(context));
        if (request.DelayMs > 0)
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
        }

        if (request.FailCode != 0)
        {
            throw new GrpcException((StatusCode)request.FailCode, request.Text);
        }

        return Reply(request, 0, context);
    }

    private async Task ChatAsync(IAsyncEnumerable<EchoRequest> requests, GrpcStreamWriter<EchoReply> responses, GrpcCallContext context)
    {
        Started.TrySetResult(context);
        using var registration = context.CancellationToken.Register(() => Cancelled.TrySetResult(context));
        var index = 0;
        var received = 0;
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            received++;
            if (request.DelayMs > 0)
            {
                await Task.Delay(request.DelayMs, context.CancellationToken);
            }

            if (request.FailCode != 0)
            {
                throw new GrpcException((StatusCode)request.FailCode, request.Text);
            }

            for (var i = 0; i < Math.Max(1, request.Repeat); i++)
            {
                await responses.WriteAsync(Reply(request, index++, context), context.CancellationToken);
            }
        }

        HalfClosed.TrySetResult(received);
        // After the client's half-close the server may still talk: one last message says how many it got.
        await responses.WriteAsync(new EchoReply { Text = $"received {received}", Index = index }, context.CancellationToken);
    }

    private static async Task CountdownAsync(EchoRequest request, GrpcStreamWriter<EchoReply> responses, GrpcCallContext context)
    {
        // Concurrent writers: the writer must keep every frame whole.
        var writers = Enumerable.Range(0, request.Repeat).Select(i =>
            responses.WriteAsync(new EchoReply { Text = request.Text, Index = i, Payload = request.Payload }, context.CancellationToken).AsTask());
        await Task.WhenAll(writers);
    }

    private static EchoReply Reply(EchoRequest request, int index, GrpcCallContext context) => new()
    {
        Text = request.Text,
        Index = index,
        Payload = request.Payload,
        Metadata = context.RequestHeaders.Get("x-mesh-test") ?? "",
    };
}
