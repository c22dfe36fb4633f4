using System.Globalization;

namespace Mesh.Benchmarks.Infrastructure;

/// <summary>
/// What the kernel knows about the agent's side of its HTTP connections, from <c>/proc/net/tcp</c> and
/// <c>/proc/net/tcp6</c>: how many are established, and whether any request bytes are still waiting for the agent
/// (in a connection it has not accepted yet, a handshake not yet finished, or a socket it has not read).
/// </summary>
internal readonly record struct ServerSockets(int Established, int AcceptQueue, int HalfOpen, int Unread)
{
    /// <summary>True when the agent has accepted every connection and read every byte sent to it.</summary>
    public bool AllRead => AcceptQueue == 0 && HalfOpen == 0 && Unread == 0;

    public override string ToString() =>
        $"{Established:#,0} established, {AcceptQueue} awaiting accept, {HalfOpen} half-open, {Unread} with unread bytes";
}

internal static class TcpTable
{
    // Socket states as the kernel prints them (include/net/tcp_states.h).
    private const int Established = 0x01;
    private const int SynReceived = 0x03;
    private const int Listen = 0x0A;

    /// <summary>
    /// Tallies the sockets whose local port is <paramref name="port"/>. Lines are
    /// <c>sl local rem st tx_queue:rx_queue ...</c>; for a listening socket rx_queue is its accept-queue length, for an
    /// established one the bytes received but not yet read by the application.
    /// </summary>
    public static ServerSockets ServerSide(int port)
    {
        var established = 0;
        var acceptQueue = 0;
        var halfOpen = 0;
        var unread = 0;
        var portSuffix = ":" + port.ToString("X4", CultureInfo.InvariantCulture);

        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            IEnumerable<string> lines;
            try { lines = File.ReadLines(file).Skip(1); }
            catch (IOException) { continue; }

            foreach (var line in lines)
            {
                var fields = line.AsSpan().TrimStart();
                // fields: "sl:" local remote state queues ...
                var local = NextField(ref fields);
                local = NextField(ref fields);
                if (!local.EndsWith(portSuffix, StringComparison.Ordinal)) continue;
                NextField(ref fields); // remote
                var state = int.Parse(NextField(ref fields), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var queues = NextField(ref fields);
                var rxQueue = long.Parse(queues[(queues.IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

                switch (state)
                {
                    case Listen: acceptQueue += (int)rxQueue; break;
                    case SynReceived: halfOpen++; break;
                    case Established:
                        established++;
                        if (rxQueue > 0) unread++;
                        break;
                }
            }
        }
        return new ServerSockets(established, acceptQueue, halfOpen, unread);
    }

    private static ReadOnlySpan<char> NextField(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart(' ');
        var end = rest.IndexOf(' ');
        var field = end < 0 ? rest : rest[..end];
        rest = end < 0 ? [] : rest[end..];
        return field;
    }
}
