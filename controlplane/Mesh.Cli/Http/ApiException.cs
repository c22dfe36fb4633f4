namespace Mesh.Cli.Http;

/// <summary>
/// A failed API call, worded as Consul's Go client words it so the CLI's messages read the same:
/// <c>Unexpected response code: 400 (body)</c> for an HTTP error, <c>Get "http://...": dial tcp ...: connect:
/// connection refused</c> when the agent cannot be reached.
/// </summary>
internal sealed class ApiException : Exception
{
    private ApiException(string message, int? statusCode, string? body, Exception? inner) : base(message, inner)
    {
        StatusCode = statusCode;
        Body = body;
    }

    /// <summary>The HTTP status, or null when no response arrived.</summary>
    public int? StatusCode { get; }

    /// <summary>The response body of an HTTP error.</summary>
    public string? Body { get; }

    /// <summary>
    /// True for the failures Consul's client calls retryable (<c>IsRetryableError</c>): the agent could not be
    /// reached, or it answered 500.
    /// </summary>
    public bool IsRetryable => StatusCode is null or 500;

    /// <summary>An HTTP error response.</summary>
    public static ApiException FromStatus(int statusCode, string body) =>
        new($"Unexpected response code: {statusCode} ({body})", statusCode, body, null);

    /// <summary>An HTTP error response without the body in the message (Consul's session renew does this).</summary>
    public static ApiException FromStatusNoBody(int statusCode) =>
        new($"Unexpected response code: {statusCode}", statusCode, null, null);

    /// <summary>The request never got a response.</summary>
    public static ApiException FromTransport(string message, Exception inner) => new(message, null, null, inner);

    /// <summary>A response that arrived but could not be decoded.</summary>
    public static ApiException FromDecode(string message, Exception? inner) => new(message, 200, null, inner);
}
