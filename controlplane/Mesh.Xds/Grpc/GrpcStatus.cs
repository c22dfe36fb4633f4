namespace Mesh.Xds.Grpc;

/// <summary>The outcome of a gRPC call: the code and the human-readable detail (<c>grpc-message</c>).</summary>
/// <param name="Code">The status code.</param>
/// <param name="Detail">The message; empty when there is none.</param>
public readonly record struct GrpcStatus(StatusCode Code, string Detail)
{
    /// <summary>The OK status with no message.</summary>
    public static GrpcStatus Ok => new(StatusCode.OK, "");

    /// <inheritdoc />
    public override string ToString() =>
        Detail.Length == 0 ? $"Status(StatusCode={Code})" : $"Status(StatusCode={Code}, Detail=\"{Detail}\")";
}
