using System.Text;

namespace Mesh.Cli.Tests.Support;

/// <summary>Builders for agent responses.</summary>
internal static class Json
{
    public static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    public static string Pair(string key, string? value, ulong create = 1, ulong modify = 1, ulong flags = 0, ulong lockIndex = 0, string session = "") =>
        $$"""{"LockIndex":{{lockIndex}},"Key":"{{key}}","Flags":{{flags}},"Value":{{(value is null ? "null" : $"\"{B64(value)}\"")}},"Session":"{{session}}","CreateIndex":{{create}},"ModifyIndex":{{modify}}}""";

    public static string Array(params string[] items) => "[" + string.Join(",", items) + "]";
}
