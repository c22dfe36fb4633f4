using Mesh.State.Tables;
using System.Net.Sockets;

namespace Mesh.Agent.Checks;

/// <summary>Consul's TCP check: passing when a connection opens within the timeout, critical otherwise.</summary>
internal sealed class TcpCheckProbe : ICheckProbe
{
    private readonly string _target;
    private readonly TimeSpan _timeout;

    public TcpCheckProbe(CheckDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        _target = definition.TCP;
        _timeout = definition.EffectiveTimeout;
    }

    public async Task<CheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        if (!HostPort.TryParse(_target, out var host, out var port))
        {
            return new CheckResult(HealthStatus.Critical, $"dial tcp {_target}: address is not host:port");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return new CheckResult(HealthStatus.Passing, $"TCP connect {_target}: Success");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new CheckResult(HealthStatus.Critical, $"dial tcp {_target}: i/o timeout");
        }
        catch (SocketException ex)
        {
            return new CheckResult(HealthStatus.Critical, $"dial tcp {_target}: connect: {ex.Message}");
        }
    }
}
