namespace Mesh.Xds.Grpc;

/// <summary>The gRPC status codes (grpc/doc/statuscodes.md); the numbers are what travels in <c>grpc-status</c>.</summary>
public enum StatusCode
{
    /// <summary>Not an error.</summary>
    OK = 0,

    /// <summary>The operation was cancelled, typically by the caller.</summary>
    Cancelled = 1,

    /// <summary>Unknown error, e.g. a status from another error space.</summary>
    Unknown = 2,

    /// <summary>The client sent an invalid argument.</summary>
    InvalidArgument = 3,

    /// <summary>The deadline expired before the operation could complete.</summary>
    DeadlineExceeded = 4,

    /// <summary>A requested entity was not found.</summary>
    NotFound = 5,

    /// <summary>The entity the client tried to create already exists.</summary>
    AlreadyExists = 6,

    /// <summary>The caller lacks permission.</summary>
    PermissionDenied = 7,

    /// <summary>A resource (a quota, the message size limit) is exhausted.</summary>
    ResourceExhausted = 8,

    /// <summary>The system is not in a state the operation requires.</summary>
    FailedPrecondition = 9,

    /// <summary>The operation was aborted (a concurrency conflict).</summary>
    Aborted = 10,

    /// <summary>The operation was attempted past the valid range.</summary>
    OutOfRange = 11,

    /// <summary>The method is not implemented or not supported.</summary>
    Unimplemented = 12,

    /// <summary>Internal error: an invariant the protocol relies on is broken.</summary>
    Internal = 13,

    /// <summary>The service is currently unavailable; retrying may help.</summary>
    Unavailable = 14,

    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,

    /// <summary>The request lacks valid authentication credentials.</summary>
    Unauthenticated = 16,
}
