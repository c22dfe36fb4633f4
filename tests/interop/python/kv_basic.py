"""python-consul KV: put/get, missing keys, binary and unicode values, flags, recurse, keys, cas, delete."""

from _mesh import check, client, eq, index_of, prefix, run, step


def main():
    c = client()
    p = prefix("kv")

    step("put and get one key")
    eq(c.kv.put(p + "/a", "1"), True, "kv.put of a new key")
    idx, item = c.kv.get(p + "/a")
    check(item is not None, "kv.get of a key just written returned None")
    index = index_of(idx, "kv.get")
    eq(item["Key"], p + "/a", "Key")
    eq(item["Value"], b"1", "Value (base64-decoded by the client)")
    eq(item["Flags"], 0, "Flags of a plain put")
    eq(item["LockIndex"], 0, "LockIndex of an unlocked key")
    check(item.get("Session") in (None, ""), "unlocked key has Session %r" % item.get("Session"))
    check(item["CreateIndex"] > 0, "CreateIndex must be > 0, got %r" % item["CreateIndex"])
    eq(item["ModifyIndex"], item["CreateIndex"], "ModifyIndex of a new key")
    check(index >= item["ModifyIndex"],
          "X-Consul-Index %d is below the key's ModifyIndex %d" % (index, item["ModifyIndex"]))

    step("overwrite keeps CreateIndex and raises ModifyIndex")
    eq(c.kv.put(p + "/a", "2"), True, "kv.put overwrite")
    _, again = c.kv.get(p + "/a")
    eq(again["Value"], b"2", "Value after overwrite")
    eq(again["CreateIndex"], item["CreateIndex"], "CreateIndex after overwrite")
    check(again["ModifyIndex"] > item["ModifyIndex"], "ModifyIndex did not grow on overwrite: %r -> %r"
          % (item["ModifyIndex"], again["ModifyIndex"]))

    step("missing key gives (index, None), with X-Consul-Index on the 404")
    idx, missing = c.kv.get(p + "/does-not-exist")
    eq(missing, None, "kv.get of a missing key")
    index_of(idx, "kv.get of a missing key")

    step("consistency modes stale and consistent")
    for mode in ("stale", "consistent"):
        _, item_mode = c.kv.get(p + "/a", consistency=mode)
        eq(item_mode["Value"], b"2", "Value read with ?%s" % mode)

    step("binary, empty and None values round-trip")
    blob = bytes(range(256))
    eq(c.kv.put(p + "/bin", blob), True, "kv.put of binary data")
    eq(c.kv.get(p + "/bin")[1]["Value"], blob, "binary value")
    eq(c.kv.put(p + "/empty", ""), True, "kv.put of an empty string")
    check(c.kv.get(p + "/empty")[1]["Value"] in (None, b""), "empty value came back non-empty")
    eq(c.kv.put(p + "/none", None), True, "kv.put of None (a directory marker)")
    _, none_item = c.kv.get(p + "/none")
    check(none_item is not None and none_item["Value"] in (None, b""), "None value: got %r" % (none_item,))

    step("unicode and spaces in keys and values")
    ukey = p + "/ünïcødé key ✓"
    # python-consul 0.7.1 hands a str value to http.client, which encodes bodies as Latin-1: send UTF-8 bytes.
    eq(c.kv.put(ukey, "héllo wörld ✓".encode("utf-8")), True, "kv.put with a unicode key")
    _, uitem = c.kv.get(ukey)
    check(uitem is not None, "unicode key not found after put")
    eq(uitem["Key"], ukey, "unicode Key")
    eq(uitem["Value"].decode("utf-8"), "héllo wörld ✓", "unicode Value")

    step("reserved URL characters in keys survive the client's percent-encoding")
    for suffix in ("q?x=1", "hash#frag", "pct%41", "plus+sign", "amp&eq=", "semi;colon", "dollar$'()*,", "tilde~"):
        key = p + "/special/" + suffix
        eq(c.kv.put(key, suffix), True, "kv.put of %r" % key)
        _, got = c.kv.get(key)
        check(got is not None, "kv.get of %r found nothing" % key)
        eq(got["Key"], key, "Key of %r" % key)
        eq(got["Value"], suffix.encode(), "Value of %r" % key)
    _, special = c.kv.get(p + "/special/", keys=True)
    eq(len(special), 8, "keys under special/ (%r)" % special)

    step("flags, including the uint64 maximum")
    eq(c.kv.put(p + "/flags", "f", flags=42), True, "kv.put with flags")
    eq(c.kv.get(p + "/flags")[1]["Flags"], 42, "Flags")
    eq(c.kv.put(p + "/flags", "f", flags=2 ** 64 - 1), True, "kv.put with flags=2^64-1")
    eq(c.kv.get(p + "/flags")[1]["Flags"], 2 ** 64 - 1, "Flags=2^64-1")

    step("cas: create-only (cas=0) and compare-and-set on ModifyIndex")
    eq(c.kv.put(p + "/a", "clobber", cas=0), False, "cas=0 on an existing key")
    eq(c.kv.get(p + "/a")[1]["Value"], b"2", "value after a failed cas=0")
    eq(c.kv.put(p + "/cas", "new", cas=0), True, "cas=0 on a missing key")
    _, cas_item = c.kv.get(p + "/cas")
    stale = cas_item["ModifyIndex"]
    eq(c.kv.put(p + "/cas", "second", cas=stale), True, "cas with the current ModifyIndex")
    eq(c.kv.put(p + "/cas", "third", cas=stale), False, "cas with a stale ModifyIndex")
    eq(c.kv.get(p + "/cas")[1]["Value"], b"second", "value after a failed cas")

    step("recurse returns every key under a prefix, sorted")
    tree = p + "/tree/"
    for key, value in (("b/d", "4"), ("a", "1"), ("b/c", "3")):
        eq(c.kv.put(tree + key, value), True, "kv.put " + key)
    eq(c.kv.put(p + "/treehouse", "not-under-tree/"), True, "kv.put sibling")
    idx, items = c.kv.get(tree, recurse=True)
    check(isinstance(items, list), "recurse must return a list, got %r" % (items,))
    eq([i["Key"] for i in items], [tree + "a", tree + "b/c", tree + "b/d"], "recursed keys")
    eq([i["Value"] for i in items], [b"1", b"3", b"4"], "recursed values")
    check(index_of(idx, "recurse") >= max(i["ModifyIndex"] for i in items),
          "recurse X-Consul-Index below the highest ModifyIndex under the prefix")
    idx, nothing = c.kv.get(p + "/no-such-prefix/", recurse=True)
    eq(nothing, None, "recurse over an empty prefix")
    index_of(idx, "recurse over an empty prefix")

    step("keys, with and without a separator")
    _, keys = c.kv.get(tree, keys=True)
    eq(keys, [tree + "a", tree + "b/c", tree + "b/d"], "keys")
    _, grouped = c.kv.get(tree, keys=True, separator="/")
    eq(grouped, [tree + "a", tree + "b/"], "keys with separator '/'")

    step("delete a key; deleting a missing key is fine")
    eq(c.kv.delete(p + "/a"), True, "kv.delete")
    eq(c.kv.get(p + "/a")[1], None, "key after delete")
    eq(c.kv.delete(p + "/never-existed"), True, "kv.delete of a missing key")

    step("delete with cas")
    _, cas_item = c.kv.get(p + "/cas")
    eq(c.kv.delete(p + "/cas", cas=cas_item["ModifyIndex"] + 1000), False, "delete with a wrong cas index")
    check(c.kv.get(p + "/cas")[1] is not None, "key deleted although cas index was wrong")
    eq(c.kv.delete(p + "/cas", cas=cas_item["ModifyIndex"]), True, "delete with the right cas index")
    eq(c.kv.get(p + "/cas")[1], None, "key after delete with cas")

    step("delete recurse removes the subtree only")
    eq(c.kv.delete(tree, recurse=True), True, "kv.delete recurse")
    eq(c.kv.get(tree, recurse=True)[1], None, "subtree after delete recurse")
    _, sibling = c.kv.get(p + "/treehouse")
    check(sibling is not None, "delete recurse of %r also removed %r" % (tree, p + "/treehouse"))
    eq(c.kv.delete(p, recurse=True), True, "cleanup")
    eq(c.kv.get(p, recurse=True)[1], None, "everything under the run's prefix after cleanup")


if __name__ == "__main__":
    run(main)
