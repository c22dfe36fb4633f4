using System.Collections;

namespace Mesh.Xds.Grpc;

/// <summary>
/// gRPC metadata: ordered key/value pairs carried as HTTP/2 headers or trailers. Keys are lower-case ASCII
/// (<c>0-9 a-z - _ .</c>); a key may repeat. Values of keys ending in <c>-bin</c> are binary on the wire model and are
/// kept here in their wire form (base64 text), as they travel in the header block.
/// </summary>
public sealed class GrpcMetadata : IReadOnlyList<KeyValuePair<string, string>>
{
    private readonly List<KeyValuePair<string, string>> _entries = [];
    private readonly bool _readOnly;

    /// <summary>Creates an empty, writable collection.</summary>
    public GrpcMetadata()
    {
    }

    private GrpcMetadata(bool readOnly) => _readOnly = readOnly;

    /// <summary>A shared empty collection that cannot be added to.</summary>
    public static GrpcMetadata Empty { get; } = new(readOnly: true);

    /// <inheritdoc />
    public int Count => _entries.Count;

    /// <inheritdoc />
    public KeyValuePair<string, string> this[int index] => _entries[index];

    /// <summary>Adds an entry after checking that <paramref name="key"/> is a legal metadata key that gRPC does not reserve.</summary>
    /// <exception cref="ArgumentException">The key is empty, has characters gRPC does not allow, or is reserved
    /// (<c>grpc-*</c>, pseudo-headers, <c>content-type</c>, <c>te</c>...); or the value has characters a header cannot carry.</exception>
    /// <exception cref="InvalidOperationException">The collection is <see cref="Empty"/>.</exception>
    public GrpcMetadata Add(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_readOnly)
        {
            throw new InvalidOperationException("GrpcMetadata.Empty cannot be added to; create a new GrpcMetadata");
        }

        var lower = key.ToLowerInvariant();
        if (!IsValidKey(lower))
        {
            throw new ArgumentException($"invalid gRPC metadata key \"{key}\": use 0-9 a-z - _ . only", nameof(key));
        }

        if (IsReserved(lower))
        {
            throw new ArgumentException($"gRPC metadata key \"{key}\" is reserved by the protocol", nameof(key));
        }

        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException($"the value of gRPC metadata key \"{key}\" has a character a header cannot carry (printable ASCII only)", nameof(value));
            }
        }

        _entries.Add(new(lower, value));
        return this;
    }

    /// <summary>The last value of <paramref name="key"/> (case-insensitive), or null when absent.</summary>
    public string? Get(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return _entries[i].Value;
            }
        }

        return null;
    }

    /// <summary>Every value of <paramref name="key"/> (case-insensitive), in order.</summary>
    public IReadOnlyList<string> GetAll(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        List<string>? values = null;
        foreach (var entry in _entries)
        {
            if (string.Equals(entry.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                (values ??= []).Add(entry.Value);
            }
        }

        return values ?? (IReadOnlyList<string>)[];
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Adds a header received from the wire without the checks <see cref="Add"/> makes (the peer's names are what they are).</summary>
    internal void AddReceived(string key, string value) => _entries.Add(new(key.ToLowerInvariant(), value));

    /// <summary>Whether a header is part of the gRPC/HTTP protocol rather than application metadata.</summary>
    internal static bool IsReserved(string lowerKey) =>
        lowerKey.StartsWith(':') || lowerKey.StartsWith("grpc-", StringComparison.Ordinal) || lowerKey is "content-type"
            or "te" or "host" or "content-length" or "connection" or "transfer-encoding" or "upgrade" or "keep-alive"
            or "proxy-connection";

    private static bool IsValidKey(string key)
    {
        if (key.Length == 0)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'z') or '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
