// npm consul transaction.create: atomic KV ops, results, rollback with 409, lock/unlock, verified with kv.get.
import { b64, check, client, eq, prefix, raw, rejects, run, step } from "./lib/mesh.mjs";

const kv = (Verb, Key, fields = {}) => ({ KV: { Verb, Key, ...fields } });

await run(async () => {
  const consul = client();
  check(typeof consul.transaction?.create === "function", "the npm consul client has no transaction.create");
  const p = prefix("txn");

  step("an all-set transaction applies atomically and returns one result per op");
  const body = await consul.transaction.create([
    kv("set", `${p}/a`, { Value: b64("1") }),
    kv("set", `${p}/b`, { Value: b64("2"), Flags: 7 }),
    kv("get", `${p}/a`),
  ]);
  check(!body?.Errors, `a successful txn reported Errors: ${JSON.stringify(body?.Errors)}`);
  check(Array.isArray(body?.Results) && body.Results.length === 3, `Results: ${JSON.stringify(body?.Results)}`);
  eq(body.Results[0].KV.Key, `${p}/a`, "Results[0].KV.Key");
  eq(Buffer.from(body.Results[2].KV.Value, "base64").toString(), "1", "value returned by the get op");

  step("kv.get sees the writes, both at the transaction's index");
  const a = await consul.kv.get(`${p}/a`);
  const b = await consul.kv.get(`${p}/b`);
  eq([a?.Value, b?.Value, b?.Flags], ["1", "2", 7], "values and flags written by the txn");
  eq(a.ModifyIndex, b.ModifyIndex, "ModifyIndex shared by one txn");

  step("a failing cas rolls everything back; the client rejects with the 409");
  const err = await rejects(
    consul.transaction.create([
      kv("set", `${p}/c`, { Value: b64("never") }),
      kv("cas", `${p}/a`, { Value: b64("clobber"), Index: a.ModifyIndex + 1000 }),
    ]),
    "txn with a failing cas",
  );
  eq(err.statusCode, 409, "status of a rolled-back txn");
  const rolled = err.response?.body;
  check(Array.isArray(rolled?.Errors) && rolled.Errors.length === 1, `409 body: ${JSON.stringify(rolled)}`);
  eq(rolled.Errors[0].OpIndex, 1, "Errors[0].OpIndex");
  check(typeof rolled.Errors[0].What === "string" && rolled.Errors[0].What, "Errors[0].What must explain the failure");
  eq(await consul.kv.get(`${p}/c`), undefined, "key set earlier in the rolled-back txn");
  eq((await consul.kv.get(`${p}/a`)).Value, "1", "cas target after rollback");

  step("lock, check-session and unlock through transactions");
  const sid = (await consul.session.create({ name: "node-txn", lockdelay: "0s" })).ID;
  await consul.transaction.create([kv("lock", `${p}/lock`, { Value: b64("held"), Session: sid })]);
  const locked = await consul.kv.get(`${p}/lock`);
  eq([locked.Session, locked.LockIndex, locked.Value], [sid, 1, "held"], "Session, LockIndex, Value after txn lock");
  await consul.transaction.create([
    kv("check-session", `${p}/lock`, { Session: sid }),
    kv("unlock", `${p}/lock`, { Session: sid }),
  ]);
  const unlocked = await consul.kv.get(`${p}/lock`);
  check(!unlocked.Session, `lock still held after txn unlock: ${unlocked.Session}`);
  await consul.session.destroy(sid);

  step("delete-tree and check-not-exists");
  await consul.transaction.create([kv("delete-tree", `${p}/`), kv("check-not-exists", `${p}/a`)]);
  eq(await consul.kv.get({ key: `${p}/`, recurse: true }), undefined, "keys after delete-tree");

  step("more ops than the limit are refused with a 4xx, not applied");
  const many = Array.from({ length: 129 }, (_, i) => kv("set", `${p}/many/${i}`, { Value: b64(String(i)) }));
  const tooMany = await raw("PUT", "/v1/txn", JSON.stringify(many));
  check(tooMany.status === 413 || tooMany.status === 400, `status of a 129-op txn: ${tooMany.status}`);
  eq(await consul.kv.get({ key: `${p}/many/`, recurse: true }), undefined, "keys of a refused txn");
});
