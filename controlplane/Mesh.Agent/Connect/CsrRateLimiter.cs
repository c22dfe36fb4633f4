namespace Mesh.Agent.Connect;

/// <summary>
/// The server's limit on CSR signing (<c>csr_max_per_second</c>, <c>csr_max_concurrent</c>): a token bucket holding one
/// second's worth of tokens, or a cap on signings in flight. A request over the limit is refused at once (the agent
/// retries after <see cref="RetryAfter"/>), so a rotation storm queues at the agents instead of piling onto the server.
/// </summary>
internal sealed class CsrRateLimiter(TimeProvider time)
{
    private readonly Lock _gate = new();
    private double _tokens = double.NaN;
    private long _last;
    private int _inFlight;

    /// <summary>How long a refused caller should wait before trying again.</summary>
    public TimeSpan RetryAfter { get; private set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Takes a slot when the limits allow; false means "rate limited".</summary>
    public bool TryAcquire(double perSecond, int maxConcurrent)
    {
        lock (_gate)
        {
            if (maxConcurrent > 0)
            {
                if (_inFlight >= maxConcurrent) return false;
                _inFlight++;
                return true;
            }
            if (perSecond <= 0) return true;
            var now = time.GetTimestamp();
            if (double.IsNaN(_tokens)) _tokens = Math.Max(1, perSecond);
            else _tokens = Math.Min(Math.Max(1, perSecond), _tokens + time.GetElapsedTime(_last, now).TotalSeconds * perSecond);
            _last = now;
            if (_tokens < 1)
            {
                RetryAfter = TimeSpan.FromSeconds((1 - _tokens) / perSecond);
                return false;
            }
            _tokens -= 1;
            return true;
        }
    }

    /// <summary>Returns a concurrency slot taken with <paramref name="maxConcurrent"/> &gt; 0.</summary>
    public void Release(int maxConcurrent)
    {
        if (maxConcurrent <= 0) return;
        lock (_gate) _inFlight = Math.Max(0, _inFlight - 1);
    }
}
