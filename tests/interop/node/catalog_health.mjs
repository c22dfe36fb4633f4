// npm consul catalog and health: register nodes with services and checks, list, tag and passing filters, a
// blocking health query woken by a check change, deregister.
import { check, client, eq, indexOf, prefix, run, step, withResponse } from "./lib/mesh.mjs";

await run(async () => {
  const consul = client();
  const svc = prefix("svc").replaceAll("/", "-");
  const register = (node, address, id, tags, status) =>
    consul.catalog.register({
      node, address,
      service: { service: svc, id, port: 9090, tags },
      check: { name: "alive", checkid: `alive-${id}`, serviceid: id, status },
    });

  step("register two instances, one passing and one critical");
  await register(`${svc}-n1`, "10.2.0.1", `${svc}-a`, ["v1"], "passing");
  await register(`${svc}-n2`, "10.2.0.2", `${svc}-b`, ["v2"], "critical");

  step("catalog.service.nodes lists both, with the tag filter one");
  const all = await consul.catalog.service.nodes(svc);
  eq(all.map((s) => s.Node).sort(), [`${svc}-n1`, `${svc}-n2`], "instances");
  const v1 = await consul.catalog.service.nodes({ service: svc, tag: "v1" });
  eq(v1.map((s) => s.ServiceID), [`${svc}-a`], "instances tagged v1");

  step("health.service with passing returns only the healthy one");
  const [res, healthy] = await consul.health.service({ service: svc, passing: true, ...withResponse() });
  eq(healthy.map((e) => e.Node.Node), [`${svc}-n1`], "passing instances");
  const index = indexOf(res, "health.service");

  step("the client's filter option selects with the bexpr language");
  const filtered = await consul.health.service({ service: svc, filter: 'Service.Tags contains "v2"' });
  eq(filtered.map((e) => e.Node.Node), [`${svc}-n2`], "instances whose tags contain v2");
  const byMeta = await consul.catalog.service.nodes({ service: svc, filter: `ServiceID == "${svc}-a"` });
  eq(byMeta.map((s) => s.ServiceID), [`${svc}-a`], "catalog filter on ServiceID");

  step("a blocking health.service returns when the critical check turns passing");
  const blocked = consul.health.service({ service: svc, passing: true, index: String(index), wait: "30s", ...withResponse() });
  await register(`${svc}-n2`, "10.2.0.2", `${svc}-b`, ["v2"], "passing");
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("blocking health.service did not return within 20s")), 20000));
  const [res2, now] = await Promise.race([blocked, timeout]);
  check(indexOf(res2, "health.service (blocking)") > index, "index did not move");
  eq(now.map((e) => e.Node.Node).sort(), [`${svc}-n1`, `${svc}-n2`], "passing after the change");

  step("deregister a node removes its instance");
  await consul.catalog.deregister({ node: `${svc}-n2` });
  const after = await consul.health.service(svc);
  eq(after.map((e) => e.Node.Node), [`${svc}-n1`], "instances after deregistering n2");
});
