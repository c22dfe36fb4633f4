using System.Globalization;

namespace Mesh.Agent.Checks;

/// <summary>Splits Consul's <c>host:port</c> targets, including bracketed IPv6 (<c>[::1]:80</c>).</summary>
internal static class HostPort
{
    public static bool TryParse(string value, out string host, out int port)
    {
        host = string.Empty;
        port = 0;
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            return false;
        }

        host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':'))
        {
            // An unbracketed IPv6 address is ambiguous, as it is to Go's net.SplitHostPort.
            return false;
        }

        return host.Length > 0
            && int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port is > 0 and <= 65535;
    }
}
