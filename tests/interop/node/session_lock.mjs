// npm consul sessions as locks: kv.set({acquire}) and {release}, contention, behaviors release/delete, lock-delay.
import { randomUUID } from "node:crypto";

import { check, client, eq, exact, prefix, rejects, run, step } from "./lib/mesh.mjs";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

await run(async () => {
  const consul = client();
  const p = prefix("lock");
  const key = `${p}/leader`;

  step("create two sessions (one with a TTL), lock-delay 0s");
  const s1 = (await consul.session.create({ name: "node-lock-1", ttl: "30s", lockdelay: "0s" }))?.ID;
  const s2 = (await consul.session.create({ name: "node-lock-2", lockdelay: "0s" }))?.ID;
  check(UUID.test(s1 ?? "") && UUID.test(s2 ?? ""), `session.create must return {ID: uuid}, got ${s1} / ${s2}`);
  check(s1 !== s2, "two sessions got the same ID");

  step("first session acquires the lock");
  eq(await consul.kv.set({ key, value: "owner-1", acquire: s1 }), true, "acquire by s1");
  let item = await consul.kv.get(key);
  eq(item.Session, s1, "Session of a held key");
  eq(item.LockIndex, 1, "LockIndex after the first acquire");
  eq(item.Value, "owner-1", "Value written by the acquire");

  step("second session cannot acquire a held lock");
  eq(await exact((o) => consul.kv.set({ key, value: "owner-2", acquire: s2, ...o })), false, "acquire by s2 while s1 holds it");
  item = await consul.kv.get(key);
  eq([item.Session, item.Value], [s1, "owner-1"], "Session and Value after a failed acquire");

  step("only the holder can release");
  eq(await exact((o) => consul.kv.set({ key, value: "x", release: s2, ...o })), false, "release by a non-holder");
  eq((await consul.kv.get(key)).Session, s1, "Session after a foreign release");
  eq(await consul.kv.set({ key, value: "released", release: s1 }), true, "release by the holder");
  item = await consul.kv.get(key);
  check(item.Session === undefined || item.Session === "", `Session after release: ${item.Session}`);
  eq([item.LockIndex, item.Value], [1, "released"], "LockIndex and Value after release");

  step("the other session acquires at once after a release; LockIndex counts holders");
  eq(await consul.kv.set({ key, value: "owner-2", acquire: s2 }), true, "acquire by s2 after release");
  item = await consul.kv.get(key);
  eq([item.Session, item.LockIndex], [s2, 2], "Session and LockIndex after a second holder");

  step("destroying a behavior=release session releases the lock and keeps the key");
  await consul.session.destroy(s2);
  item = await consul.kv.get(key);
  check(item !== undefined, "behavior=release: the key was deleted on destroy");
  check(item.Session === undefined || item.Session === "", `lock still held by a destroyed session: ${item.Session}`);
  eq(await consul.session.info(s2), undefined, "session.info of a destroyed session");

  step("a destroyed session cannot acquire");
  let ghost;
  try {
    ghost = await exact((o) => consul.kv.set({ key, value: "ghost", acquire: s2, ...o }));
  } catch (err) {
    check(err.statusCode < 500, `acquire with a destroyed session answered ${err.statusCode}: ${err.message}`);
    ghost = false;
  }
  eq(ghost, false, "acquire with a destroyed session");

  step("destroying a behavior=delete session deletes the keys it holds");
  const s3 = (await consul.session.create({ name: "node-ephemeral", behavior: "delete", ttl: "10s", lockdelay: "0s" })).ID;
  eq(await consul.kv.set({ key: `${p}/ephemeral`, value: "here", acquire: s3 }), true, "acquire by s3");
  await consul.session.destroy(s3);
  eq(await consul.kv.get(`${p}/ephemeral`), undefined, "key of a behavior=delete session after destroy");

  step("invalidating a lock holder applies its lock-delay (default 15s)");
  const s4 = (await consul.session.create({ name: "node-delayed" })).ID;
  eq(await consul.kv.set({ key: `${p}/delayed`, value: "held", acquire: s4 }), true, "acquire by s4");
  await consul.session.destroy(s4);
  eq(await exact((o) => consul.kv.set({ key: `${p}/delayed`, value: "too-soon", acquire: s1, ...o })), false, "acquire within lock-delay");

  step("session.renew of an unknown session is a 404 error");
  const err = await rejects(consul.session.renew(randomUUID()), "renew of an unknown session");
  eq(err.statusCode, 404, "status of renew of an unknown session");

  step("cleanup");
  await consul.session.destroy(s1);
  await consul.session.destroy(s1); // idempotent
  eq(await consul.kv.del({ key: p, recurse: true }), true, "cleanup keys");
});
