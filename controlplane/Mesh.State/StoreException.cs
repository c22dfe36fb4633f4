namespace Mesh.State;

/// <summary>A write the store refuses (an unknown session, a missing node...). The message is shown to the client.</summary>
public sealed class StoreException(string message) : Exception(message);
