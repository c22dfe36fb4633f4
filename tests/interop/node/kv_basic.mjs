// npm consul KV: set/get (keys with "/" travel as %2F), missing keys, binary and unicode values, flags, recurse,
// keys with separator, cas, delete, delete recurse.
import { check, client, eq, exact, indexOf, prefix, rejects, run, step, withResponse } from "./lib/mesh.mjs";

await run(async () => {
  const consul = client();
  const p = prefix("kv");

  step("set and get one key (the client percent-encodes '/' in the key)");
  eq(await consul.kv.set(`${p}/a`, "1"), true, "kv.set of a new key");
  const [res, item] = await consul.kv.get({ key: `${p}/a`, ...withResponse() });
  check(item !== undefined, `kv.get of ${p}/a returned nothing; the request path was /v1/kv/${encodeURIComponent(`${p}/a`)}`);
  const index = indexOf(res, "kv.get");
  eq(item.Key, `${p}/a`, "Key");
  eq(item.Value, "1", "Value (decoded by the client)");
  eq(item.Flags, 0, "Flags");
  eq(item.LockIndex, 0, "LockIndex");
  check(item.CreateIndex > 0 && item.ModifyIndex === item.CreateIndex, `indexes of a new key: ${JSON.stringify(item)}`);
  check(index >= BigInt(item.ModifyIndex), "X-Consul-Index below the key's ModifyIndex");
  check(/^application\/json/.test(res.headers["content-type"] ?? ""), `content-type of kv.get: ${res.headers["content-type"]}`);

  step("overwrite keeps CreateIndex and raises ModifyIndex");
  eq(await consul.kv.set({ key: `${p}/a`, value: "2" }), true, "kv.set overwrite");
  const again = await consul.kv.get(`${p}/a`);
  eq(again.Value, "2", "Value after overwrite");
  eq(again.CreateIndex, item.CreateIndex, "CreateIndex after overwrite");
  check(again.ModifyIndex > item.ModifyIndex, "ModifyIndex did not grow on overwrite");

  step("missing key resolves to undefined, with X-Consul-Index");
  const [missRes, missing] = await consul.kv.get({ key: `${p}/does-not-exist`, ...withResponse() });
  eq(missing, undefined, "kv.get of a missing key");
  eq(missRes.statusCode, 404, "status of kv.get of a missing key");
  indexOf(missRes, "kv.get of a missing key");

  step("stale and consistent reads");
  eq((await consul.kv.get({ key: `${p}/a`, stale: true })).Value, "2", "Value read with ?stale");
  eq((await consul.kv.get({ key: `${p}/a`, consistent: true })).Value, "2", "Value read with ?consistent");

  step("binary value round-trips as a Buffer");
  const blob = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  eq(await consul.kv.set(`${p}/bin`, blob), true, "kv.set of a Buffer");
  const bin = await consul.kv.get({ key: `${p}/bin`, buffer: true });
  check(Buffer.isBuffer(bin.Value) && bin.Value.equals(blob), `binary value came back as ${JSON.stringify(bin.Value)}`);

  step("raw read returns the bytes");
  const rawValue = await consul.kv.get({ key: `${p}/a`, raw: true });
  eq(Buffer.from(rawValue).toString(), "2", "?raw body");

  step("unicode and spaces in keys and values");
  const ukey = `${p}/ünïcødé key ✓`;
  eq(await consul.kv.set(ukey, "héllo wörld ✓"), true, "kv.set with a unicode key");
  const uitem = await consul.kv.get(ukey);
  check(uitem !== undefined, "unicode key not found after set");
  eq(uitem.Key, ukey, "unicode Key");
  eq(uitem.Value, "héllo wörld ✓", "unicode Value");

  step("reserved URL characters in keys survive encodeURIComponent");
  const specials = ["q?x=1", "hash#frag", "pct%41", "plus+sign", "amp&eq=", "semi;colon", "dollar$'()*,", "tilde~"];
  for (const suffix of specials) {
    const key = `${p}/special/${suffix}`;
    eq(await consul.kv.set(key, suffix), true, `kv.set of ${key}`);
    const got = await consul.kv.get(key);
    check(got !== undefined, `kv.get of ${key} found nothing`);
    eq([got.Key, got.Value], [key, suffix], `Key and Value of ${key}`);
  }
  eq((await consul.kv.keys(`${p}/special/`)).length, specials.length, "keys under special/");

  step("flags");
  eq(await consul.kv.set({ key: `${p}/flags`, value: "f", flags: 42 }), true, "kv.set with flags");
  eq((await consul.kv.get(`${p}/flags`)).Flags, 42, "Flags");

  step("cas: create-only (cas=0) and compare-and-set on ModifyIndex");
  eq(await exact((o) => consul.kv.set({ key: `${p}/a`, value: "clobber", cas: 0, ...o })), false, "cas=0 on an existing key");
  eq((await consul.kv.get(`${p}/a`)).Value, "2", "value after a failed cas=0");
  eq(await consul.kv.set({ key: `${p}/cas`, value: "new", cas: 0 }), true, "cas=0 on a missing key");
  const stale = (await consul.kv.get(`${p}/cas`)).ModifyIndex;
  eq(await consul.kv.set({ key: `${p}/cas`, value: "second", cas: stale }), true, "cas with the current index");
  eq(await exact((o) => consul.kv.set({ key: `${p}/cas`, value: "third", cas: stale, ...o })), false, "cas with a stale index");
  eq((await consul.kv.get(`${p}/cas`)).Value, "second", "value after a failed cas");

  step("recurse returns every key under a prefix, sorted");
  const tree = `${p}/tree/`;
  for (const [k, v] of [["b/d", "4"], ["a", "1"], ["b/c", "3"]]) {
    eq(await consul.kv.set(tree + k, v), true, `kv.set ${k}`);
  }
  eq(await consul.kv.set(`${p}/treehouse`, "sibling"), true, "kv.set sibling");
  const [treeRes, items] = await consul.kv.get({ key: tree, recurse: true, ...withResponse() });
  check(Array.isArray(items), `recurse must give an array, got ${JSON.stringify(items)}`);
  eq(items.map((i) => i.Key), [`${tree}a`, `${tree}b/c`, `${tree}b/d`], "recursed keys");
  eq(items.map((i) => i.Value), ["1", "3", "4"], "recursed values");
  check(indexOf(treeRes, "recurse") >= BigInt(Math.max(...items.map((i) => i.ModifyIndex))), "recurse index too low");
  eq(await consul.kv.get({ key: `${p}/no-such-prefix/`, recurse: true }), undefined, "recurse over an empty prefix");

  step("keys, with and without a separator");
  eq(await consul.kv.keys(tree), [`${tree}a`, `${tree}b/c`, `${tree}b/d`], "kv.keys");
  eq(await consul.kv.keys({ key: tree, separator: "/" }), [`${tree}a`, `${tree}b/`], "kv.keys with separator");

  step("delete, delete of a missing key, delete with cas");
  eq(await consul.kv.del(`${p}/a`), true, "kv.del");
  eq(await consul.kv.get(`${p}/a`), undefined, "key after delete");
  eq(await consul.kv.del(`${p}/never-existed`), true, "kv.del of a missing key");
  const casItem = await consul.kv.get(`${p}/cas`);
  eq(await exact((o) => consul.kv.del({ key: `${p}/cas`, cas: casItem.ModifyIndex + 1000, ...o })), false, "del with a wrong cas index");
  check((await consul.kv.get(`${p}/cas`)) !== undefined, "key deleted despite a wrong cas index");
  eq(await consul.kv.del({ key: `${p}/cas`, cas: casItem.ModifyIndex }), true, "del with the right cas index");
  eq(await consul.kv.get(`${p}/cas`), undefined, "key after del with cas");

  step("delete recurse removes the subtree only");
  eq(await consul.kv.del({ key: tree, recurse: true }), true, "kv.del recurse");
  eq(await consul.kv.get({ key: tree, recurse: true }), undefined, "subtree after del recurse");
  check((await consul.kv.get(`${p}/treehouse`)) !== undefined, "del recurse of the subtree removed its sibling");

  step("conflicting parameters are a 400 the client surfaces as an error");
  const conflict = await rejects(consul.kv.del({ key: `${p}/treehouse`, recurse: true, cas: 1 }), "del with recurse and cas");
  eq(conflict.statusCode, 400, "status of del with both recurse and cas");

  eq(await consul.kv.del({ key: p, recurse: true }), true, "cleanup");
});
