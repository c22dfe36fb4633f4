"""/v1/txn through raw HTTP (python-consul 0.7.1 has no txn API), verified with the client."""

import base64
import json

from _mesh import b64, base_url, check, client, eq, http, loads, prefix, run, step


def kv(verb, key, **fields):
    op = {"Verb": verb, "Key": key}
    op.update(fields)
    return {"KV": op}


def main():
    c = client()
    check(not hasattr(c, "txn"), "python-consul grew a txn API; use it here instead of raw HTTP")
    s = http()
    url = base_url() + "/v1/txn"
    p = prefix("txn")

    step("an all-set transaction applies atomically and returns one result per op")
    ops = [kv("set", p + "/a", Value=b64("1")),
           kv("set", p + "/b", Value=b64("2"), Flags=7),
           kv("get", p + "/a")]
    r = s.put(url, data=json.dumps(ops))
    eq(r.status_code, 200, "status of a valid txn")
    body = loads(r, "txn")
    check(not body.get("Errors"), "a successful txn reported Errors: %r" % body.get("Errors"))
    results = body.get("Results")
    check(isinstance(results, list) and len(results) == 3, "Results must hold 3 entries, got %r" % (results,))
    for res in results:
        check("KV" in res, "each result must be {'KV': {...}}, got %r" % (res,))
    eq(results[0]["KV"]["Key"], p + "/a", "Results[0].KV.Key")
    check(results[0]["KV"].get("Value") is None, "a set op's result must not echo the value")
    eq(base64.b64decode(results[2]["KV"]["Value"]), b"1", "value returned by the get op")
    check(results[2]["KV"]["ModifyIndex"] > 0, "get op result lacks ModifyIndex")

    step("the client sees the transaction's writes")
    _, b = c.kv.get(p + "/b")
    eq(b["Value"], b"2", "value written by the txn")
    eq(b["Flags"], 7, "flags written by the txn")
    _, a = c.kv.get(p + "/a")
    eq(a["ModifyIndex"], b["ModifyIndex"], "both keys of one txn share its index")

    step("a failing cas rolls back the whole transaction with 409")
    ops = [kv("set", p + "/c", Value=b64("never")),
           kv("cas", p + "/a", Value=b64("clobber"), Index=a["ModifyIndex"] + 1000)]
    r = s.put(url, data=json.dumps(ops))
    eq(r.status_code, 409, "status of a txn whose cas fails")
    body = loads(r, "rolled-back txn")
    errors = body.get("Errors")
    check(isinstance(errors, list) and len(errors) == 1, "Errors must list the failing op, got %r" % (errors,))
    eq(errors[0].get("OpIndex"), 1, "Errors[0].OpIndex")
    check(isinstance(errors[0].get("What"), str) and errors[0]["What"], "Errors[0].What must explain the failure")
    eq(c.kv.get(p + "/c")[1], None, "a key set earlier in a rolled-back txn")
    eq(c.kv.get(p + "/a")[1]["Value"], b"1", "a cas target after rollback")

    step("cas, check-index, check-not-exists, delete-cas and get-tree")
    ops = [kv("cas", p + "/a", Value=b64("10"), Index=a["ModifyIndex"]),
           kv("check-index", p + "/b", Index=b["ModifyIndex"]),
           kv("check-not-exists", p + "/nope"),
           kv("set", p + "/dir/x", Value=b64("x")),
           kv("set", p + "/dir/y", Value=b64("y")),
           kv("get-tree", p + "/dir/")]
    r = s.put(url, data=json.dumps(ops))
    eq(r.status_code, 200, "status of a mixed txn")
    results = loads(r, "mixed txn")["Results"]
    tree = [res["KV"]["Key"] for res in results if res["KV"]["Key"].startswith(p + "/dir/")]
    check(tree.count(p + "/dir/x") >= 1 and tree.count(p + "/dir/y") >= 1, "get-tree results lack keys: %r" % tree)
    eq(c.kv.get(p + "/a")[1]["Value"], b"10", "value after a txn cas")
    _, b_now = c.kv.get(p + "/b")
    r = s.put(url, data=json.dumps([kv("delete-cas", p + "/b", Index=b_now["ModifyIndex"]),
                                    kv("delete-tree", p + "/dir/")]))
    eq(r.status_code, 200, "status of a delete txn")
    eq(c.kv.get(p + "/b")[1], None, "key after delete-cas")
    eq(c.kv.get(p + "/dir/", recurse=True)[1], None, "subtree after delete-tree")

    step("lock and unlock through a txn, seen by the client")
    sid = c.session.create(name="py-txn", lock_delay=0)
    r = s.put(url, data=json.dumps([kv("lock", p + "/lock", Value=b64("held"), Session=sid)]))
    eq(r.status_code, 200, "status of a txn lock")
    _, lock = c.kv.get(p + "/lock")
    eq(lock["Session"], sid, "Session after a txn lock")
    eq(lock["LockIndex"], 1, "LockIndex after a txn lock")
    r = s.put(url, data=json.dumps([kv("check-session", p + "/lock", Session=sid),
                                    kv("unlock", p + "/lock", Session=sid)]))
    eq(r.status_code, 200, "status of a txn check-session + unlock")
    check(c.kv.get(p + "/lock")[1].get("Session") in (None, ""), "lock still held after a txn unlock")
    c.session.destroy(sid)

    step("a malformed txn body is a 400 with a message")
    r = s.put(url, data="[{")
    eq(r.status_code, 400, "status of a txn with invalid JSON")
    check(r.text.strip() != "", "400 for invalid JSON has an empty body")

    c.kv.delete(p, recurse=True)


if __name__ == "__main__":
    run(main)
