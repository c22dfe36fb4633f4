// npm consul session API: create (PascalCase body), info, get, list, node, renew, destroy.
import { randomUUID } from "node:crypto";

import { check, client, eq, indexOf, rejects, run, step, withResponse } from "./lib/mesh.mjs";

const UNIT = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
function seconds(goDuration, what) {
  check(typeof goDuration === "string" && goDuration !== "", `${what}: expected a Go duration, got ${goDuration}`);
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let m;
  while (re.lastIndex < goDuration.length && (m = re.exec(goDuration))) total += Number(m[1]) * UNIT[m[2]];
  check(re.lastIndex === goDuration.length, `${what}: ${goDuration} is not a Go duration`);
  return total;
}

await run(async () => {
  const consul = client();
  const self = await consul.agent.self();
  const node = self?.Config?.NodeName;
  check(typeof node === "string" && node, `agent.self Config.NodeName: ${node}`);
  if (process.env.MESH_NODE_NAME) eq(node, process.env.MESH_NODE_NAME, "agent node name (the -node flag)");

  step("create with Name, TTL, Behavior and LockDelay");
  const created = await consul.session.create({ name: "node-api", ttl: "15s", behavior: "delete", lockdelay: "5s" });
  const id = created?.ID;
  check(typeof id === "string" && id.length === 36, `session.create: ${JSON.stringify(created)}`);

  step("session.info / session.get return Consul's fields and units");
  const [infoRes, info] = await consul.session.info({ id, ...withResponse() });
  indexOf(infoRes, "session.info");
  eq([info.ID, info.Name, info.Node, info.Behavior], [id, "node-api", node, "delete"], "ID, Name, Node, Behavior");
  eq(seconds(info.TTL, "TTL"), 15, "TTL in seconds");
  eq(info.LockDelay, 5e9, "LockDelay in nanoseconds");
  check(info.CreateIndex > 0, `CreateIndex: ${info.CreateIndex}`);
  eq((await consul.session.get(id))?.ID, id, "session.get");

  step("a create without options gets the defaults");
  const plain = (await consul.session.create()).ID;
  const plainInfo = await consul.session.info(plain);
  eq([plainInfo.Behavior, plainInfo.LockDelay, plainInfo.Node], ["release", 15e9, node], "default Behavior, LockDelay, Node");

  step("session.list and session.node include the sessions");
  const [listRes, list] = await consul.session.list(withResponse());
  indexOf(listRes, "session.list");
  const listed = new Set(list.map((s) => s.ID));
  check(listed.has(id) && listed.has(plain), "session.list lacks our sessions");
  const onNode = new Set((await consul.session.node(node)).map((s) => s.ID));
  check(onNode.has(id) && onNode.has(plain), `session.node(${node}) lacks our sessions`);
  eq(await consul.session.node(`no-such-node-${randomUUID().slice(0, 6)}`), [], "session.node of an unknown node");

  step("session.renew returns the session in an array");
  const renewed = await consul.session.renew(id);
  check(Array.isArray(renewed) && renewed.length === 1, `session.renew: ${JSON.stringify(renewed)}`);
  eq(renewed[0].ID, id, "renewed ID");
  check(seconds(renewed[0].TTL, "renewed TTL") >= 15, `renewed TTL ${renewed[0].TTL}`);

  step("unknown ids: info resolves to undefined, renew rejects with 404");
  const ghost = randomUUID();
  eq(await consul.session.info(ghost), undefined, "session.info of an unknown session");
  eq((await rejects(consul.session.renew(ghost), "renew of an unknown session")).statusCode, 404, "renew status");

  step("an invalid TTL is a 400 error");
  const bad = await rejects(consul.session.create({ ttl: "5s" }), "session.create with TTL 5s");
  eq(bad.statusCode, 400, "status of session.create with TTL 5s");

  step("destroy removes sessions everywhere");
  for (const s of [id, plain]) await consul.session.destroy(s);
  eq(await consul.session.info(id), undefined, "session.info after destroy");
  const after = new Set((await consul.session.list()).map((s) => s.ID));
  check(!after.has(id) && !after.has(plain), "destroyed sessions still listed");
});
