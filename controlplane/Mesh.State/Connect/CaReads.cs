using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State;

// Connect CA reads: both report their own table's index, which moves on every change to what they return.
public sealed partial class StateView
{
    /// <summary>The CA configuration, or null before the CA has been initialized.</summary>
    public (ulong Index, CaConfiguration? Config) CaConfig(WatchSet? ws = null)
    {
        ws?.Key(TableNames.CaConfig, "");
        return (TableIndex(TableNames.CaConfig), _root.CaConfig);
    }

    /// <summary>The CA roots, the active one among them.</summary>
    public (ulong Index, IReadOnlyList<CaRoot> Roots) CaRoots(WatchSet? ws = null)
    {
        ws?.Key(TableNames.CaRoots, "");
        return (TableIndex(TableNames.CaRoots), _root.CaRoots);
    }
}
