using Mesh.Ca.Identity;
using Mesh.State;

namespace Mesh.Agent.Connect;

/// <summary>Whether a connection is allowed, and why (what <c>/v1/agent/connect/authorize</c> answers).</summary>
/// <param name="Authorized">Allowed or not.</param>
/// <param name="Reason">Why, for people.</param>
public sealed record AuthorizeDecision(bool Authorized, string Reason);

/// <summary>
/// Decides whether a source service may connect to a destination service (<see cref="IntentionAuthorizer"/>).
/// </summary>
public interface IConnectAuthorizer
{
    /// <summary>The decision for a connection from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    AuthorizeDecision Authorize(StateView view, SpiffeId source, string destination);
}
