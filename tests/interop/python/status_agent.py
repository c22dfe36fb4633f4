"""python-consul status and agent endpoints: status.leader, status.peers, agent.self, agent.members."""

import os
import re

from _mesh import check, client, eq, run, step

HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$")


def main():
    c = client()
    node = os.environ.get("MESH_NODE_NAME")

    step("status.leader is a host:port string")
    leader = c.status.leader()
    check(isinstance(leader, str) and HOST_PORT.match(leader),
          "status.leader must be \"host:port\" of the leader, got %r" % (leader,))

    step("status.peers lists the leader")
    peers = c.status.peers()
    check(isinstance(peers, list) and peers, "status.peers must be a non-empty list, got %r" % (peers,))
    for peer in peers:
        check(isinstance(peer, str) and HOST_PORT.match(peer), "peer %r is not host:port" % (peer,))
    check(leader in peers, "leader %r is not among peers %r" % (leader, peers))

    step("agent.self has Config and Member describing this agent")
    me = c.agent.self()
    check(isinstance(me, dict) and "Config" in me and "Member" in me,
          "agent.self must have Config and Member, got keys %r" % (sorted(me) if isinstance(me, dict) else me))
    config = me["Config"]
    check(isinstance(config.get("NodeName"), str) and config["NodeName"], "Config.NodeName: %r"
          % config.get("NodeName"))
    check(isinstance(config.get("Datacenter"), str) and config["Datacenter"], "Config.Datacenter: %r"
          % config.get("Datacenter"))
    if node:
        eq(config["NodeName"], node, "Config.NodeName (the -node flag)")
    eq(me["Member"].get("Name"), config["NodeName"], "Member.Name")
    check(config.get("Server") is True, "a -dev agent is a server; Config.Server is %r" % config.get("Server"))

    step("agent.members includes this agent, alive")
    members = c.agent.members()
    check(isinstance(members, list), "agent.members must be a list, got %r" % (members,))
    mine = [m for m in members if m.get("Name") == config["NodeName"]]
    eq(len(mine), 1, "members named after this agent")
    eq(mine[0].get("Status"), 1, "Status of this agent (serf StatusAlive = 1)")
    check(isinstance(mine[0].get("Addr"), str) and isinstance(mine[0].get("Port"), int),
          "member Addr/Port: %r" % mine[0])


if __name__ == "__main__":
    run(main)
