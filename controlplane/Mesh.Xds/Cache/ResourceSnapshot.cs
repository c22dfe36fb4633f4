using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;

namespace Mesh.Xds.Cache;

/// <summary>
/// Everything one proxy is served at one moment: for each of the five types, the resources by name and a type
/// version. Immutable and complete; a newer snapshot replaces an older one whole.
/// </summary>
public sealed class ResourceSnapshot
{
    private readonly TypeResources[] _types;

    private ResourceSnapshot(TypeResources[] types) => _types = types;

    /// <summary>A snapshot with no resources of any type.</summary>
    public static ResourceSnapshot Empty { get; } = FromResources([]);

    /// <summary>The resources of one type; a type the snapshot was built without is present and empty.</summary>
    /// <exception cref="ArgumentException">The type URL is not one of <see cref="TypeUrls"/>.</exception>
    public TypeResources this[string typeUrl]
    {
        get
        {
            var index = TypeUrls.IndexOf(typeUrl);
            if (index < 0) throw new ArgumentException($"'{typeUrl}' is not an xDS type Mesh serves", nameof(typeUrl));
            return _types[index];
        }
    }

    /// <summary>The resources of the type at <paramref name="index"/> in <see cref="TypeUrls.Ordered"/>.</summary>
    internal TypeResources At(int index) => _types[index];

    /// <summary>
    /// Serialises every message once and groups them by type. Keys are type URLs (<see cref="TypeUrls"/>); a missing
    /// key means "no resources of that type".
    /// </summary>
    /// <exception cref="ArgumentException">
    /// An unknown type URL, a message filed under the wrong type URL, a resource without a name, or two resources of
    /// one type with the same name.
    /// </exception>
    public static ResourceSnapshot Create(IReadOnlyDictionary<string, IReadOnlyList<IMessage>> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var all = new List<Resource>();
        foreach (var (typeUrl, messages) in resources)
        {
            if (TypeUrls.IndexOf(typeUrl) < 0)
                throw new ArgumentException($"'{typeUrl}' is not an xDS type Mesh serves", nameof(resources));
            foreach (var message in messages)
            {
                if (message is null) throw new ArgumentException($"a null {TypeUrls.ShortName(typeUrl)} resource", nameof(resources));
                var resource = Resource.Create(message);
                if (resource.TypeUrl != typeUrl)
                    throw new ArgumentException($"a {message.Descriptor.Name} ('{resource.Name}') was given as a {TypeUrls.ShortName(typeUrl)} resource", nameof(resources));
                all.Add(resource);
            }
        }
        return FromResources(all);
    }

    /// <summary>
    /// Groups already serialised resources by type. Lets a caller reuse one <see cref="Resource"/> in the snapshots of
    /// many proxies (an upstream's endpoints, the CA roots), so it is encoded once for all of them.
    /// </summary>
    /// <exception cref="ArgumentException">Two resources of one type with the same name.</exception>
    public static ResourceSnapshot FromResources(IEnumerable<Resource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var byType = new Dictionary<string, Resource>[TypeUrls.Count];
        for (var i = 0; i < byType.Length; i++) byType[i] = new Dictionary<string, Resource>(StringComparer.Ordinal);
        foreach (var resource in resources)
        {
            ArgumentNullException.ThrowIfNull(resource, nameof(resources));
            if (!byType[TypeUrls.IndexOf(resource.TypeUrl)].TryAdd(resource.Name, resource))
                throw new ArgumentException($"two {TypeUrls.ShortName(resource.TypeUrl)} resources are named '{resource.Name}'", nameof(resources));
        }
        var types = new TypeResources[TypeUrls.Count];
        for (var i = 0; i < types.Length; i++) types[i] = new TypeResources(TypeUrls.Ordered[i], byType[i]);
        return new ResourceSnapshot(types);
    }

    /// <summary>
    /// This snapshot with the resources of one type replaced and the other types shared as they are: what a proxy
    /// whose endpoints alone changed needs, without regrouping and rehashing everything else.
    /// </summary>
    /// <exception cref="ArgumentException">A resource of another type, or two with the same name.</exception>
    public ResourceSnapshot WithType(string typeUrl, IEnumerable<Resource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var index = TypeUrls.IndexOf(typeUrl);
        if (index < 0) throw new ArgumentException($"'{typeUrl}' is not an xDS type Mesh serves", nameof(typeUrl));
        var byName = new Dictionary<string, Resource>(StringComparer.Ordinal);
        foreach (var resource in resources)
        {
            ArgumentNullException.ThrowIfNull(resource, nameof(resources));
            if (resource.TypeUrl != typeUrl)
                throw new ArgumentException($"a {TypeUrls.ShortName(resource.TypeUrl)} resource ('{resource.Name}') given as {TypeUrls.ShortName(typeUrl)}", nameof(resources));
            if (!byName.TryAdd(resource.Name, resource))
                throw new ArgumentException($"two {TypeUrls.ShortName(typeUrl)} resources are named '{resource.Name}'", nameof(resources));
        }
        var types = (TypeResources[])_types.Clone();
        types[index] = new TypeResources(typeUrl, byName);
        return new ResourceSnapshot(types);
    }
}

/// <summary>The resources of one type in a snapshot, and the type's version.</summary>
public sealed class TypeResources
{
    internal TypeResources(string typeUrl, Dictionary<string, Resource> byName)
    {
        TypeUrl = typeUrl;
        ByName = byName;
        var all = byName.Values.ToArray();
        Array.Sort(all, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        All = all;
        Version = VersionOf(all);
    }

    /// <summary>One of <see cref="TypeUrls"/>.</summary>
    public string TypeUrl { get; }

    /// <summary>
    /// A hash of every (name, version) pair: the same resources give the same version, so a type that did not change
    /// between two snapshots keeps its version and is not sent again.
    /// </summary>
    public string Version { get; }

    /// <summary>The resources by name.</summary>
    public IReadOnlyDictionary<string, Resource> ByName { get; }

    /// <summary>The resources in ordinal name order (responses list them in this order).</summary>
    public IReadOnlyList<Resource> All { get; }

    private static string VersionOf(Resource[] sorted)
    {
        // FNV-1a (64-bit) over every (name, version) pair, each name length-prefixed so no two different lists hash
        // the same input. The resource versions are already content hashes; this only has to tell sets apart, and it
        // runs once per type per snapshot of every proxy, so it must not allocate or reach for the OS's crypto.
        const ulong offset = 14695981039346656037, prime = 1099511628211;
        var h = offset;
        foreach (var resource in sorted)
        {
            h = (h ^ (ulong)resource.Name.Length) * prime;
            foreach (var c in resource.Name) h = (h ^ c) * prime;
            foreach (var c in resource.Version) h = (h ^ c) * prime;
        }
        return h.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }
}
