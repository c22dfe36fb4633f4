namespace Mesh.Sidecar.Config;

/// <summary>
/// A resource the proxy cannot apply. The message names the resource and the field, and becomes the NACK's
/// <c>error_detail</c>; the previous configuration of that type stays in force.
/// </summary>
internal sealed class XdsConfigException(string message) : Exception(message);
