namespace Mesh.Agent.Http;

/// <summary>A request the API refuses: the status code and the one-line reason the client sees.</summary>
internal sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static ApiException BadRequest(string message) => new(400, message);
}
