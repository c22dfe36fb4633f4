namespace Mesh.Cli.Watches;

/// <summary>Back-off of a watch after errors (Consul's <c>api/watch</c>: 5s × failures², at most 3 minutes).</summary>
internal sealed record WatchTimings
{
    public static WatchTimings Default { get; } = new();

    /// <summary>The base retry interval.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest pause between attempts.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(180);
}
