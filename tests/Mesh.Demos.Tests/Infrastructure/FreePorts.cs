using System.Net;
using System.Net.Sockets;

namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>Ports that were free a moment ago, for programs that need the number before they bind (service definitions, scripts).</summary>
internal static class FreePorts
{
    /// <summary><paramref name="count"/> distinct free TCP ports on 127.0.0.1: all are held open until all are chosen, so none repeats.</summary>
    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners) listener.Stop();
        }
    }
}
