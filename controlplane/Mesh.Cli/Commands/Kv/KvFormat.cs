using System.Text;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Commands.Kv;

/// <summary>Output shared by the KV commands.</summary>
internal static class KvFormat
{
    /// <summary>
    /// The <c>-detailed</c> block: CreateIndex, Flags, Key, LockIndex, ModifyIndex, Session ("-" when none) and
    /// Value, aligned as Consul's tabwriter (padding 6) aligns them.
    /// </summary>
    public static string Detailed(KvPair pair, bool base64) => Columns.KeyValueBlock(
    [
        ("CreateIndex", pair.CreateIndex.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Flags", pair.Flags.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Key", pair.Key),
        ("LockIndex", pair.LockIndex.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("ModifyIndex", pair.ModifyIndex.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Session", pair.Session.Length == 0 ? "-" : pair.Session),
        ("Value", Value(pair, base64)),
    ], padding: 6);

    /// <summary>The value as text (Consul prints the raw bytes), or base64 with <c>-base64</c>.</summary>
    public static string Value(KvPair pair, bool base64) =>
        base64 ? Convert.ToBase64String(pair.Value ?? []) : Encoding.UTF8.GetString(pair.Value ?? []);

    /// <summary>Consul strips one leading slash from keys given to get, delete and export.</summary>
    public static string TrimLeadingSlash(string key) => key.StartsWith('/') ? key[1..] : key;
}
