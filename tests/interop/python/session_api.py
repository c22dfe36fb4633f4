"""python-consul session API: create (fields as python-consul sends them), info, list, node, renew, destroy."""

import os
import re
import uuid

import consul

from _mesh import base_url, check, client, eq, http, index_of, loads, raises, run, step

_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(go_duration, what):
    """Seconds in a Go duration string such as '15s' or '1m0s'."""
    check(isinstance(go_duration, str) and go_duration, "%s: expected a Go duration string, got %r"
          % (what, go_duration))
    total, rest = 0.0, go_duration
    while rest:
        m = re.match(r"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", rest)
        check(m is not None, "%s: %r is not a Go duration" % (what, go_duration))
        total += float(m.group(1)) * _UNIT[m.group(2)]
        rest = rest[m.end():]
    return total


def main():
    c = client()
    node = c.agent.self()["Config"]["NodeName"]
    expected_node = os.environ.get("MESH_NODE_NAME")
    if expected_node:
        eq(node, expected_node, "agent.self Config.NodeName (the -node flag)")

    step("create with name, TTL, behavior and lock-delay (python-consul sends lowercase JSON keys)")
    sid = c.session.create(name="py-api", ttl=15, behavior="delete", lock_delay=5)
    uuid.UUID(sid)

    step("session.info returns the session with Consul's field names and units")
    idx, info = c.session.info(sid)
    index_of(idx, "session.info")
    check(isinstance(info, dict), "session.info must return one session, got %r" % (info,))
    eq(info["ID"], sid, "ID")
    eq(info["Name"], "py-api", "Name")
    eq(info["Node"], node, "Node (defaults to the agent's node)")
    eq(info["Behavior"], "delete", "Behavior")
    eq(seconds(info["TTL"], "TTL"), 15.0, "TTL in seconds")
    eq(info["LockDelay"], 5 * 10 ** 9, "LockDelay in nanoseconds")
    check(isinstance(info.get("CreateIndex"), int) and info["CreateIndex"] > 0, "CreateIndex: %r"
          % info.get("CreateIndex"))

    step("an empty create body gives the defaults (release, 15s lock-delay, agent's node)")
    plain = c.session.create()
    _, plain_info = c.session.info(plain)
    eq(plain_info["Behavior"], "release", "default Behavior")
    eq(plain_info["LockDelay"], 15 * 10 ** 9, "default LockDelay in nanoseconds")
    eq(plain_info["Node"], node, "default Node")
    check(plain_info.get("TTL") in (None, ""), "a session without TTL reports TTL %r" % plain_info.get("TTL"))

    step("create with an explicit empty checks list")
    nochecks = c.session.create(name="py-nochecks", checks=[])
    check(c.session.info(nochecks)[1] is not None, "session created with checks=[] not found")

    step("session.list and session.node include the new sessions")
    idx, sessions = c.session.list()
    index_of(idx, "session.list")
    ids = {s["ID"] for s in sessions}
    check({sid, plain, nochecks} <= ids, "session.list lacks our sessions: %r" % sorted(ids))
    idx, on_node = c.session.node(node)
    index_of(idx, "session.node")
    check({sid, plain, nochecks} <= {s["ID"] for s in on_node}, "session.node(%r) lacks our sessions" % node)
    idx, elsewhere = c.session.node("no-such-node-" + uuid.uuid4().hex[:6])
    eq(elsewhere, [], "session.node of an unknown node")

    step("session.renew returns the session with its TTL")
    renewed = c.session.renew(sid)
    check(isinstance(renewed, dict), "session.renew must return the session, got %r" % (renewed,))
    eq(renewed["ID"], sid, "renewed ID")
    check(seconds(renewed["TTL"], "renewed TTL") >= 15.0, "renewed TTL below the session's: %r" % renewed["TTL"])

    step("unknown session ids: info gives None, renew raises NotFound")
    ghost = str(uuid.uuid4())
    eq(c.session.info(ghost)[1], None, "session.info of an unknown session")
    raises(consul.NotFound, lambda: c.session.renew(ghost), "session.renew of an unknown session")

    step("a TTL outside 10s..24h is rejected with 400 (python-consul asserts this client-side, so raw HTTP)")
    r = http().put(base_url() + "/v1/session/create", data='{"TTL": "5s"}')
    eq(r.status_code, 400, "status of session.create with TTL 5s")
    check(r.text.strip() != "", "400 for a bad TTL has an empty body")

    step("a non-release behavior is rejected with 400")
    r = http().put(base_url() + "/v1/session/create", data='{"Behavior": "explode"}')
    eq(r.status_code, 400, "status of session.create with Behavior explode")

    step("PascalCase create body works too and yields the same fields")
    r = http().put(base_url() + "/v1/session/create",
                   data='{"Name": "py-pascal", "TTL": "20s", "LockDelay": "1s", "Behavior": "release"}')
    eq(r.status_code, 200, "status of a PascalCase session.create")
    pascal = loads(r, "session.create")["ID"]
    _, pinfo = c.session.info(pascal)
    eq(pinfo["Name"], "py-pascal", "Name from a PascalCase body")
    eq(pinfo["LockDelay"], 10 ** 9, "LockDelay from '1s'")
    eq(seconds(pinfo["TTL"], "TTL"), 20.0, "TTL from '20s'")

    step("destroy removes sessions from info, list and node")
    for s in (sid, plain, nochecks, pascal):
        eq(c.session.destroy(s), True, "session.destroy")
    eq(c.session.info(sid)[1], None, "session.info after destroy")
    _, sessions = c.session.list()
    check(not ({sid, plain, nochecks, pascal} & {s["ID"] for s in sessions}), "destroyed sessions still listed")
    raises(consul.NotFound, lambda: c.session.renew(sid), "renew of a destroyed session")


if __name__ == "__main__":
    run(main)
