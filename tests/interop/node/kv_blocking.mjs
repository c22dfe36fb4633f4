// npm consul blocking queries: kv.get({key, index, wait}) returns on a change; consul.watch emits each change.
import { setTimeout as delay } from "node:timers/promises";

import { check, client, eq, indexOf, prefix, run, step, withResponse } from "./lib/mesh.mjs";

const PARKED_MS = 500; // a blocking call must still be parked this long after it started, with nothing changed
const WOKEN_WITHIN_MS = 10_000;

/** Resolves to {settled, value|error, elapsed} of promise, or {settled:false} after ms. */
async function within(promise, ms) {
  const started = Date.now();
  const timer = delay(ms).then(() => ({ settled: false }));
  const outcome = promise.then(
    (value) => ({ settled: true, value, elapsed: Date.now() - started }),
    (error) => ({ settled: true, error, elapsed: Date.now() - started }),
  );
  return Promise.race([outcome, timer]);
}

await run(async () => {
  const consul = client();
  const waiterClient = client(); // its own keep-alive pool, as a second application would have
  const p = prefix("blocking");
  const key = `${p}/watched`;

  step("blocking kv.get({key, index, wait}) returns when another client writes the key");
  eq(await consul.kv.set(key, "v1"), true, "initial set");
  const [res] = await consul.kv.get({ key, ...withResponse() });
  const index = indexOf(res, "kv.get");
  const started = Date.now();
  const blocked = waiterClient.kv.get({ key, index: index.toString(), wait: "30s", ...withResponse() });
  const early = await within(blocked, PARKED_MS);
  check(!early.settled, `kv.get(index=${index}, wait=30s) returned before anything changed: ${JSON.stringify(early.value?.[1])}`);
  eq(await consul.kv.set(key, "v2"), true, "set that should wake the waiter");
  const woken = await within(blocked, WOKEN_WITHIN_MS);
  check(woken.settled, `blocking kv.get still parked ${WOKEN_WITHIN_MS} ms after the change`);
  if (woken.error) throw woken.error;
  const [newRes, newItem] = woken.value;
  check(indexOf(newRes, "woken kv.get") > index, "woken kv.get index is not above the index it waited on");
  eq(newItem?.Value, "v2", "value seen by the woken kv.get");
  check(Date.now() - started < WOKEN_WITHIN_MS + PARKED_MS, "woken too late");

  step("blocking kv.get with nothing changing returns at the wait with the same index");
  const [curRes] = await consul.kv.get({ key, ...withResponse() });
  const cur = indexOf(curRes, "kv.get");
  const t0 = Date.now();
  const [sameRes, same] = await consul.kv.get({ key, index: cur.toString(), wait: "1s", ...withResponse() });
  const elapsed = Date.now() - t0;
  check(elapsed >= 900, `wait=1s returned after ${elapsed} ms with nothing changed`);
  check(elapsed < 5000, `wait=1s took ${elapsed} ms`);
  eq(indexOf(sameRes, "timed-out kv.get"), cur, "index after a wait with no change");
  eq(same.Value, "v2", "value after a wait with no change");

  step("consul.watch on a key emits the current value, then each change, in order");
  const watchKey = `${p}/watch`;
  eq(await consul.kv.set(watchKey, "w0"), true, "set before watching");
  const watch = consul.watch({ method: waiterClient.kv.get, options: { key: watchKey, wait: "30s" }, maxAttempts: 3 });
  const seen = [];
  const errors = [];
  let notify = () => {};
  watch.on("change", (data) => {
    seen.push(data?.Value);
    notify();
  });
  watch.on("error", (err) => {
    errors.push(`${err.message} (status ${err.response?.statusCode ?? "-"})`);
    notify();
  });
  const waitFor = async (predicate, what) => {
    const deadline = Date.now() + WOKEN_WITHIN_MS;
    while (!predicate()) {
      check(errors.length === 0, `watch reported errors: ${errors.join("; ")}`);
      const left = deadline - Date.now();
      check(left > 0, `${what}: watch saw ${JSON.stringify(seen)}`);
      await Promise.race([new Promise((resolve) => (notify = resolve)), delay(left)]);
    }
  };
  try {
    await waitFor(() => seen.length >= 1, "initial watch value");
    eq(seen, ["w0"], "first change event");
    eq(await consul.kv.set(watchKey, "w1"), true, "first write under watch");
    await waitFor(() => seen.length >= 2, "watch after the first write");
    eq(await consul.kv.set(watchKey, "w2"), true, "second write under watch");
    await waitFor(() => seen.length >= 3, "watch after the second write");
    eq(seen, ["w0", "w1", "w2"], "values emitted by the watch");
    eq(errors, [], "watch errors");
  } finally {
    watch.end();
  }

  step("consul.watch on a prefix sees a delete under it");
  const tree = `${p}/tree/`;
  for (const name of ["a", "b"]) await consul.kv.set(tree + name, name);
  const treeWatch = consul.watch({ method: waiterClient.kv.get, options: { key: tree, recurse: true, wait: "30s" } });
  const snapshots = [];
  let treeNotify = () => {};
  treeWatch.on("change", (data) => {
    snapshots.push((data ?? []).map((i) => i.Key));
    treeNotify();
  });
  treeWatch.on("error", (err) => errors.push(err.message));
  try {
    const until = async (n) => {
      const deadline = Date.now() + WOKEN_WITHIN_MS;
      while (snapshots.length < n) {
        check(errors.length === 0, `prefix watch errors: ${errors.join("; ")}`);
        check(Date.now() < deadline, `prefix watch saw only ${JSON.stringify(snapshots)}`);
        await Promise.race([new Promise((resolve) => (treeNotify = resolve)), delay(200)]);
      }
    };
    await until(1);
    eq(snapshots[0], [`${tree}a`, `${tree}b`], "initial prefix snapshot");
    eq(await consul.kv.del(`${tree}a`), true, "delete under the watched prefix");
    await until(2);
    eq(snapshots[1], [`${tree}b`], "prefix snapshot after the delete");
  } finally {
    treeWatch.end();
  }

  step("consul.watch on event.list emits when an event is fired");
  const evName = `${p.replaceAll("/", "-")}-ev`;
  await consul.event.fire(evName, "first");
  const evWatch = consul.watch({ method: waiterClient.event.list, options: { name: evName, wait: "30s" } });
  const payloads = [];
  let evNotify = () => {};
  evWatch.on("change", (data) => {
    // consul 2.0.1 decodes Payload in event.list only without includeResponse; under a watch it stays base64.
    payloads.push((data ?? []).map((e) => Buffer.from(e.Payload ?? "", "base64").toString()));
    evNotify();
  });
  evWatch.on("error", (err) => errors.push(err.message));
  try {
    const until = async (n) => {
      const deadline = Date.now() + WOKEN_WITHIN_MS;
      while (payloads.length < n) {
        check(errors.length === 0, `event watch errors: ${errors.join("; ")}`);
        check(Date.now() < deadline, `event watch saw only ${JSON.stringify(payloads)}`);
        await Promise.race([new Promise((resolve) => (evNotify = resolve)), delay(200)]);
      }
    };
    await until(1);
    eq(payloads[0], ["first"], "events before the fire");
    await consul.event.fire(evName, "second");
    await until(2);
    eq(payloads[1], ["first", "second"], "events after the fire");
  } finally {
    evWatch.end();
  }

  step("blocking session.list returns when a session is created");
  const [listRes] = await consul.session.list(withResponse());
  const listIndex = indexOf(listRes, "session.list");
  const parked = waiterClient.session.list({ index: listIndex.toString(), wait: "30s", ...withResponse() });
  check(!(await within(parked, PARKED_MS)).settled, "session.list returned before anything changed");
  const sid = (await consul.session.create({ name: "node-blocking", lockdelay: "0s" })).ID;
  const listed = await within(parked, WOKEN_WITHIN_MS);
  check(listed.settled && !listed.error, `session.list not woken by a new session: ${listed.error?.message ?? "still parked"}`);
  check(listed.value[1].some((s) => s.ID === sid), "woken session.list lacks the new session");
  await consul.session.destroy(sid);

  await consul.kv.del({ key: p, recurse: true });
});
