namespace Mesh.Xds.Bootstrap;

/// <summary>
/// A bootstrap cannot be built from the given settings: a malformed <c>envoy_*</c> value in a proxy's Config or in
/// <c>proxy-defaults</c>, or an unusable address. The message names the setting so an operator can find it.
/// </summary>
public sealed class BootstrapException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="setting">The setting or input at fault (<c>envoy_tracing_json</c>, <c>admin bind address</c>...).</param>
    /// <param name="problem">What is wrong with it.</param>
    /// <param name="inner">The parser's own error, if any.</param>
    public BootstrapException(string setting, string problem, Exception? inner = null)
        : base($"{setting}: {problem}", inner) => Setting = setting;

    /// <summary>The setting or input at fault.</summary>
    public string Setting { get; }
}
