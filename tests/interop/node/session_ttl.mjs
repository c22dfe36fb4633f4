// npm consul session TTLs: unrenewed sessions expire (behavior=delete deletes the key, behavior=release frees the
// lock) while a session renewed in time lives on; observed through consul.watch, renewing with session.renew.
import { check, client, eq, prefix, run, step } from "./lib/mesh.mjs";

const TTL_S = 10; // the smallest TTL Consul accepts
const LATEST_MS = (2 * TTL_S + 8) * 1000; // Consul invalidates between TTL and 2 x TTL after the last renewal
const RENEW_EVERY_MS = 3000;

await run(async () => {
  const consul = client();
  const p = prefix("ttl");
  const [ephemeral, released, kept] = [`${p}/ephemeral`, `${p}/released`, `${p}/kept`];

  step(`three ${TTL_S}s-TTL sessions each lock a key; only one is renewed`);
  const ttl = `${TTL_S}s`;
  const doomed = (await consul.session.create({ name: "node-ttl-delete", ttl, behavior: "delete", lockdelay: "0s" })).ID;
  const releasing = (await consul.session.create({ name: "node-ttl-release", ttl, lockdelay: "0s" })).ID;
  const renewed = (await consul.session.create({ name: "node-ttl-renewed", ttl, lockdelay: "0s" })).ID;
  const started = Date.now();
  eq(await consul.kv.set({ key: ephemeral, value: "e", acquire: doomed }), true, "acquire by the behavior=delete session");
  eq(await consul.kv.set({ key: released, value: "r", acquire: releasing }), true, "acquire by the behavior=release session");
  eq(await consul.kv.set({ key: kept, value: "k", acquire: renewed }), true, "acquire by the renewed session");

  step("watch the prefix, renewing one session, until both unrenewed sessions lapse");
  let renewals = 0;
  const renewErrors = [];
  const renewer = setInterval(() => {
    consul.session.renew(renewed).then(() => renewals++, (err) => renewErrors.push(err.message));
  }, RENEW_EVERY_MS);
  const watch = consul.watch({ method: consul.kv.get, options: { key: `${p}/`, recurse: true, wait: "5s" } });
  let latest = [];
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`after ${LATEST_MS} ms the keys are ${JSON.stringify(latest.map((i) => [i.Key, i.Session]))}`)),
        LATEST_MS,
      );
      watch.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      watch.on("change", (items) => {
        latest = items ?? [];
        const byKey = new Map(latest.map((i) => [i.Key, i]));
        if (!byKey.has(ephemeral) && byKey.has(released) && !byKey.get(released).Session) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    watch.end();
    clearInterval(renewer);
  }
  const elapsed = Date.now() - started;
  check(elapsed >= TTL_S * 1000 - 500, `sessions expired after ${elapsed} ms, before their ${TTL_S}s TTL`);
  eq(renewErrors, [], "errors renewing the live session");

  step("expired sessions are gone; the released key stays; the renewed session keeps its lock");
  eq(await consul.session.info(doomed), undefined, "session.info of the expired behavior=delete session");
  eq(await consul.session.info(releasing), undefined, "session.info of the expired behavior=release session");
  eq((await consul.kv.get(released))?.Value, "r", "value of the released key");
  check((await consul.session.info(renewed)) !== undefined, `the renewed session expired (renewals: ${renewals})`);
  eq((await consul.kv.get(kept)).Session, renewed, "Session on the renewed session's key");

  await consul.session.destroy(renewed);
  await consul.kv.del({ key: p, recurse: true });
});
