// npm consul agent services and checks: a service with an HTTP check against a real local server turns passing,
// then critical when the server stops (and drops out of passing); a TTL check passed by the client; deregister.
import http from "node:http";
import { check, client, eq, prefix, run, step } from "./lib/mesh.mjs";

async function waitUntil(what, condition, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  check(false, `timed out waiting for: ${what}`);
}

await run(async () => {
  const consul = client();
  const name = prefix("web").replaceAll("/", "-");
  const server = http.createServer((_, res) => { res.writeHead(200); res.end("ok"); });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;

  step("register a service with an HTTP check against a real local server");
  await consul.agent.service.register({
    name, id: `${name}-1`, port, tags: ["v1"],
    check: { http: `http://127.0.0.1:${port}/health`, interval: "1s", timeout: "1s" },
  });
  const services = await consul.agent.service.list();
  check(services[`${name}-1`] !== undefined, "the service is not in agent.service.list()");

  step("the check turns passing");
  await waitUntil("passing", async () => (await consul.health.service({ service: name, passing: true })).length === 1);

  step("stop the server: critical, and filtered out by passing");
  await new Promise((r) => { server.closeAllConnections?.(); server.close(r); });
  await waitUntil("filtered out", async () => (await consul.health.service({ service: name, passing: true })).length === 0);
  const checks = await consul.health.checks(name);
  eq(checks.map((c) => c.Status), ["critical"], "check status after the server stopped");

  step("a TTL check the client passes");
  await consul.agent.check.register({ name: "ttl", id: `${name}-ttl`, serviceid: `${name}-1`, ttl: "30s" });
  await consul.agent.check.pass(`${name}-ttl`);
  const all = await consul.agent.check.list();
  eq(all[`${name}-ttl`].Status, "passing", "TTL check status");

  step("deregister");
  await consul.agent.service.deregister(`${name}-1`);
  await waitUntil("gone from the catalog", async () => (await consul.health.service(name)).length === 0);
});
