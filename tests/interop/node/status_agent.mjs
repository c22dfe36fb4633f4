// npm consul status and agent endpoints: status.leader, status.peers, agent.self, agent.members.
import { check, client, eq, run, step } from "./lib/mesh.mjs";

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/;

await run(async () => {
  const consul = client();

  step("status.leader is a host:port string");
  const leader = await consul.status.leader();
  check(typeof leader === "string" && HOST_PORT.test(leader), `status.leader: ${JSON.stringify(leader)}`);

  step("status.peers lists the leader");
  const peers = await consul.status.peers();
  check(Array.isArray(peers) && peers.length > 0, `status.peers: ${JSON.stringify(peers)}`);
  check(peers.includes(leader), `leader ${leader} not in peers ${JSON.stringify(peers)}`);

  step("agent.self describes this agent");
  const self = await consul.agent.self();
  const name = self?.Config?.NodeName;
  check(typeof name === "string" && name, `agent.self Config.NodeName: ${JSON.stringify(self?.Config)}`);
  if (process.env.MESH_NODE_NAME) eq(name, process.env.MESH_NODE_NAME, "Config.NodeName (the -node flag)");
  eq(self.Member?.Name, name, "Member.Name");

  step("agent.members includes this agent, alive");
  const members = await consul.agent.members();
  const mine = members.filter((m) => m.Name === name);
  eq(mine.length, 1, "members named after this agent");
  eq(mine[0].Status, 1, "Status (serf alive = 1)");
});
