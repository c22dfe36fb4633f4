using Mesh.State.Tables;
using System.Net.Sockets;

namespace Mesh.Agent.Checks;

/// <summary>
/// Consul's UDP check: sends a datagram and waits for a reply until the timeout. A reply, or silence until the
/// timeout, is passing (UDP services need not answer); an error, in practice the ICMP port-unreachable that the
/// kernel reports as a refused connection, is critical.
/// </summary>
internal sealed class UdpCheckProbe : ICheckProbe
{
    private readonly string _target;
    private readonly TimeSpan _timeout;

    public UdpCheckProbe(CheckDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        _target = definition.UDP;
        _timeout = definition.EffectiveTimeout;
    }

    public async Task<CheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        if (!HostPort.TryParse(_target, out var host, out var port))
        {
            return new CheckResult(HealthStatus.Critical, $"dial udp {_target}: address is not host:port");
        }

        var success = new CheckResult(HealthStatus.Passing, $"UDP connect {_target}: Success");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var socket = new Socket(SocketType.Dgram, ProtocolType.Udp);
        string stage = "dial";
        try
        {
            // Connecting a UDP socket makes the kernel deliver ICMP errors for the target to it.
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            stage = "write";
            // Consul's agent sends the check's (empty) message: an empty datagram.
            await socket.SendAsync(ReadOnlyMemory<byte>.Empty, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            stage = "read";
            var reply = new byte[1];
            await socket.ReceiveAsync(reply, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            return success;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // No answer within the timeout: Consul treats an i/o timeout as a live UDP service.
            return success;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
        {
            // A reply longer than the one-byte buffer is still a reply.
            return success;
        }
        catch (SocketException ex)
        {
            return new CheckResult(HealthStatus.Critical, $"{stage} udp {_target}: {ex.Message}");
        }
    }
}
