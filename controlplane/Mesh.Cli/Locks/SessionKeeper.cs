using Mesh.State.Text;
using Mesh.Agent.Config;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Locks;

/// <summary>
/// A TTL session kept alive by renewing it every half TTL (Consul's <c>Session.RenewPeriodic</c>): on an error
/// it retries every second until a whole TTL has passed without a successful renewal; a 404 means the session is
/// gone and renewal stops.
/// </summary>
internal sealed class SessionKeeper
{
    private readonly ApiClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;

    private SessionKeeper(ApiClient client, string id, TimeSpan ttl)
    {
        _client = client;
        Id = id;
        _renewal = RenewAsync(ttl, _stop.Token);
    }

    /// <summary>The session ID.</summary>
    public string Id { get; }

    /// <summary>Creates the session and starts renewing it.</summary>
    /// <exception cref="ApiException">The session could not be created.</exception>
    public static async Task<SessionKeeper> CreateAsync(ApiClient client, string name, TimeSpan ttl, TimeSpan lockDelay,
        string? behavior, CancellationToken ct)
    {
        var id = await client.Session.CreateAsync(new SessionCreateRequest
        {
            Name = name,
            TTL = GoDuration.Format(ttl),
            LockDelay = GoDuration.Format(lockDelay),
            Behavior = behavior,
        }, ct).ConfigureAwait(false);
        return new SessionKeeper(client, id, ttl);
    }

    /// <summary>Stops renewing and destroys the session (best effort: the TTL ends it anyway).</summary>
    public async Task DestroyAsync(CancellationToken ct)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _renewal.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        try
        {
            await _client.Session.DestroyAsync(Id, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ApiException or OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task RenewAsync(TimeSpan ttl, CancellationToken ct)
    {
        var wait = ttl / 2;
        var lastRenewal = DateTime.UtcNow;
        while (DateTime.UtcNow - lastRenewal <= ttl)
        {
            await Task.Delay(wait, ct).ConfigureAwait(false);
            SessionEntry? entry;
            try
            {
                entry = await _client.Session.RenewAsync(Id, ct).ConfigureAwait(false);
            }
            catch (ApiException)
            {
                wait = TimeSpan.FromSeconds(1);
                continue;
            }
            if (entry is null) return; // expired or destroyed
            // The agent may hand back a longer TTL than asked for.
            if (entry.TTL is not null && GoDuration.TryParse(entry.TTL, out var granted) && granted > TimeSpan.Zero) ttl = granted;
            wait = ttl / 2;
            lastRenewal = DateTime.UtcNow;
        }
    }
}
