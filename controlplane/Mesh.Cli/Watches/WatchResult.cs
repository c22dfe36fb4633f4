namespace Mesh.Cli.Watches;

/// <summary>One answer of a watched view.</summary>
/// <param name="Index">The blocking index the answer came with.</param>
/// <param name="Compact">The result as compact JSON: fed to handlers, and compared to detect real changes.</param>
/// <param name="Indented">The result as four-space-indented JSON, printed when there is no handler.</param>
internal sealed record WatchResult(ulong Index, string Compact, string Indented);

/// <summary>Fetches a view once, blocking on <paramref name="waitIndex"/> when it is non-zero.</summary>
internal delegate Task<WatchResult> Watcher(ulong waitIndex, CancellationToken ct);
