namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>Waiting for a condition that other processes make true.</summary>
internal static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; throws <see cref="TimeoutException"/> naming <paramref name="what"/> and the last observation.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> observe, Func<T, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        T last;
        while (true)
        {
            last = await observe();
            if (condition(last)) return last;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}; last seen: {last}");
            await Task.Delay(100);
        }
    }
}
